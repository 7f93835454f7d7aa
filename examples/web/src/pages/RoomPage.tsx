import { useEffect, useMemo, useState, type DragEvent } from "react";
import Alert from "react-bootstrap/Alert";
import Button from "react-bootstrap/Button";
import Spinner from "react-bootstrap/Spinner";
import { Link, useParams } from "react-router-dom";
import { api, ApiError, errorText, unwrap, type S } from "../api/client";
import { useMe } from "../auth/session";
import { useConnection, useMembers, useReadMarkers, useRoom, useRooms } from "../realtime";
import { Composer, type ComposerMode } from "../chat/Composer";
import { DeleteModal } from "../chat/DeleteModal";
import { roomTitle, userName } from "../chat/format";
import { ForwardModal } from "../chat/ForwardModal";
import { MembersModal } from "../chat/MembersModal";
import { RoomHeader } from "../chat/RoomHeader";
import { Timeline, type Context as TimelineContext } from "../chat/Timeline";
import { TypingIndicator } from "../chat/TypingIndicator";
import { useUploads } from "../chat/useUploads";
import "../chat/chat.css";

/** A conversation (group room or direct messages) at /rooms/:roomId. */
export function RoomPage() {
  const { roomId: param } = useParams();
  const roomId = Number(param);
  const entry = useRoom(roomId);
  if (!Number.isSafeInteger(roomId) || roomId <= 0) return <Missing />;
  if (!entry?.summary.role) return <RoomPreview key={roomId} roomId={roomId} />;
  return <Conversation key={roomId} summary={entry.summary} />;
}

function Missing() {
  return (
    <div className="p-4">
      <h1 className="h4">Room not found</h1>
      <p>It does not exist, or it is private and you are not in it.</p>
      <Link to="/rooms">Browse rooms</Link>
    </div>
  );
}

/** A room I am not in (yet): a public one to join, or nothing to see. */
function RoomPreview({ roomId }: { roomId: number }) {
  const [room, setRoom] = useState<S["Room"] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [joining, setJoining] = useState(false);

  useEffect(() => {
    let live = true;
    unwrap(api.GET("/v1/rooms/{room_id}", { params: { path: { room_id: roomId } } })).then(
      (r) => live && setRoom(r),
      (e: unknown) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [roomId]);

  async function join() {
    setJoining(true);
    try {
      await unwrap(api.POST("/v1/rooms/{room_id}/join", { params: { path: { room_id: roomId } } }));
    } catch (e) {
      setError(e);
      setJoining(false);
    }
  }

  // Right after a reload the room list is not in yet: a room of mine would look like a stranger's.
  const known = useRooms().length > 0;
  const online = useConnection().state === "online";
  const settling = !known && !online;

  if (error instanceof ApiError && error.code === "room_not_found") return <Missing />;
  if (!room || settling) {
    return error ? (
      <Alert variant="danger" className="m-3">{errorText(error)}</Alert>
    ) : (
      <div className="d-flex h-100 align-items-center justify-content-center">
        <Spinner animation="border" role="status"><span className="visually-hidden">Loading room…</span></Spinner>
      </div>
    );
  }
  return (
    <div className="p-4 text-center">
      <h1 className="h4"># {room.name}</h1>
      {room.topic && <p className="text-body-secondary">{room.topic}</p>}
      <p>{room.member_count} {room.member_count === 1 ? "member" : "members"}</p>
      {error !== null && <Alert variant="danger">{errorText(error)}</Alert>}
      {room.kind === "public" ? (
        <Button onClick={() => void join()} disabled={joining}>Join room</Button>
      ) : (
        <p>You are not a member of this room.</p>
      )}
    </div>
  );
}

function Conversation({ summary }: { summary: S["RoomSummary"] }) {
  const roomId = summary.room.id;
  const me = useMe();
  const { members } = useMembers(roomId);
  const readMarkers = useReadMarkers(roomId);
  const { uploads, add, remove, clear } = useUploads(roomId);
  const [mode, setMode] = useState<ComposerMode>(null);
  const [deleting, setDeleting] = useState<S["Message"] | null>(null);
  const [forwarding, setForwarding] = useState<S["Message"] | null>(null);
  const [showMembers, setShowMembers] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  // My read watermark as the room opens, before looking at it moves it: where "New messages" goes.
  const [readAtOpen] = useState(summary.last_read_seq);

  const names = useMemo(() => new Map(members.map((m) => [m.user.id, userName(m.user)])), [members]);
  const usernames = useMemo(() => new Set(members.map((m) => m.user.username)), [members]);
  const myRole = summary.role;

  const ctx = useMemo<TimelineContext>(
    () => ({
      me,
      myRole,
      names,
      usernames,
      onReply: (m) => setMode({ kind: "reply", message: m }),
      onEdit: (m) => setMode({ kind: "edit", message: m }),
      onDelete: setDeleting,
      onForward: setForwarding,
      onError: setError,
    }),
    [me, myRole, names, usernames],
  );

  const title = roomTitle(summary);
  useEffect(() => {
    const previous = document.title;
    document.title = `${title} · Jeco Chat`;
    return () => {
      document.title = previous;
    };
  }, [title]);

  const direct = summary.room.kind === "direct";
  const label = direct ? `Messages with ${title}` : `Messages in ${title}`;

  function hasFiles(e: DragEvent) {
    return e.dataTransfer.types.includes("Files");
  }

  return (
    <section
      className={`chat-room${dragging ? " drag-over" : ""}`}
      aria-label={title}
      onDragOver={(e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={(e) => {
        if (e.currentTarget === e.target) setDragging(false);
      }}
      onDrop={(e) => {
        if (!hasFiles(e)) return;
        e.preventDefault();
        setDragging(false);
        add([...e.dataTransfer.files]);
      }}
    >
      <RoomHeader summary={summary} onMembers={() => setShowMembers(true)} />
      {error && (
        <Alert variant="danger" dismissible onClose={() => setError(null)} className="m-2 py-2">
          {error}
        </Alert>
      )}
      <Timeline roomId={roomId} label={label} ctx={ctx} readMarkers={readMarkers} readAtOpen={readAtOpen} />
      <TypingIndicator roomId={roomId} />
      <Composer
        roomId={roomId}
        me={me}
        members={members}
        mode={mode}
        onCancelMode={() => setMode(null)}
        uploads={uploads}
        onAddFiles={add}
        onRemoveUpload={remove}
        onClearUploads={clear}
        onEditLast={(m) => setMode({ kind: "edit", message: m })}
      />
      {deleting && <DeleteModal message={deleting} mine={deleting.sender.id === me.id} onHide={() => setDeleting(null)} />}
      {forwarding && <ForwardModal message={forwarding} onHide={() => setForwarding(null)} />}
      {showMembers && <MembersModal summary={summary} me={me} members={members} onHide={() => setShowMembers(false)} />}
    </section>
  );
}
