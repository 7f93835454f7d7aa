import { useEffect, useMemo, useRef, useState } from "react";
import Alert from "react-bootstrap/Alert";
import Badge from "react-bootstrap/Badge";
import Button from "react-bootstrap/Button";
import Form from "react-bootstrap/Form";
import Spinner from "react-bootstrap/Spinner";
import { Link, useNavigate } from "react-router-dom";
import { api, errorText, unwrap, type S } from "../api/client";
import { chat } from "../realtime";
import { NewRoomModal } from "../chat/NewRoomModal";
import "../chat/chat.css";

/** Public rooms to explore and join, with new activity; and creating a room. */
export function BrowseRoomsPage() {
  const navigate = useNavigate();
  const [rooms, setRooms] = useState<S["RoomSummary"][] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [filter, setFilter] = useState("");
  const [joining, setJoining] = useState<number | null>(null);
  const [creating, setCreating] = useState(false);

  useEffect(() => {
    let live = true;
    unwrap(api.GET("/v1/rooms")).then(
      (all) => live && setRooms(all.filter((r) => r.room.kind === "public")),
      (e: unknown) => live && setError(errorText(e)),
    );
    return () => {
      live = false;
    };
  }, []);

  // Public rooms announce new activity to everyone; the list keeps its last_seq current.
  useEffect(
    () =>
      chat.onEvent((e) => {
        if (e.type !== "room.activity") return;
        setRooms((list) =>
          list?.map((r) =>
            r.room.id === e.room_id && e.last_seq > r.room.last_seq
              ? { ...r, room: { ...r.room, last_seq: e.last_seq } }
              : r,
          ) ?? list,
        );
      }),
    [],
  );

  // Leaving the list records that the new activity there has been seen (for public rooms not
  // joined, the read watermark is how far one has looked), so the next visit marks only what
  // is newer.
  const latest = useRef<S["RoomSummary"][] | null>(null);
  useEffect(() => {
    latest.current = rooms;
  }, [rooms]);
  useEffect(
    () => () => {
      const fresh = (latest.current ?? []).filter((r) => r.role == null && r.room.last_seq > r.last_read_seq);
      for (const r of fresh.slice(0, 20)) {
        void api.PUT("/v1/rooms/{room_id}/read", { params: { path: { room_id: r.room.id } }, body: { seq: r.room.last_seq } });
      }
    },
    [],
  );

  const shown = useMemo(() => {
    const q = filter.trim().toLowerCase();
    return (rooms ?? []).filter(
      (r) => !q || (r.room.name ?? "").includes(q) || r.room.topic.toLowerCase().includes(q),
    );
  }, [rooms, filter]);

  async function join(roomId: number) {
    setJoining(roomId);
    setError(null);
    try {
      await unwrap(api.POST("/v1/rooms/{room_id}/join", { params: { path: { room_id: roomId } } }));
      void navigate(`/rooms/${roomId}`);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setJoining(null);
    }
  }

  return (
    <div className="p-3 mx-auto w-100" style={{ maxWidth: "48rem" }}>
      <div className="d-flex align-items-center gap-2 mb-3 flex-wrap">
        <h1 className="h4 me-auto mb-0">Browse rooms</h1>
        <Button onClick={() => setCreating(true)}>Create room</Button>
      </div>
      <Form.Control
        type="search"
        placeholder="Filter by name or topic"
        aria-label="Filter rooms"
        value={filter}
        onChange={(e) => setFilter(e.target.value)}
        className="mb-3"
      />
      {error && <Alert variant="danger">{error}</Alert>}
      {rooms === null && !error && (
        <Spinner animation="border" role="status"><span className="visually-hidden">Loading rooms…</span></Spinner>
      )}
      {rooms !== null && shown.length === 0 && (
        <p className="text-body-secondary">{rooms.length === 0 ? "No public rooms yet. Create the first one." : "No room matches."}</p>
      )}
      <ul className="list-group" aria-label="Public rooms">
        {shown.map((r) => {
          const joined = r.role != null;
          const fresh = !joined && r.room.last_seq > r.last_read_seq;
          const name = r.room.name ?? "";
          return (
            <li key={r.room.id} className="list-group-item d-flex align-items-center gap-3">
              <div className="flex-grow-1 min-w-0">
                <div className="fw-semibold">
                  #{name}
                  {fresh && <Badge bg="info" text="dark" className="ms-2">New activity</Badge>}
                  {joined && <Badge bg="secondary" className="ms-2">Joined</Badge>}
                </div>
                {r.room.topic && <div className="small text-body-secondary text-truncate">{r.room.topic}</div>}
                <div className="small text-body-secondary">
                  {r.room.member_count} {r.room.member_count === 1 ? "member" : "members"}
                </div>
              </div>
              {joined ? (
                <Link to={`/rooms/${r.room.id}`} className="btn chat-btn-quiet btn-sm" aria-label={`Open ${name}`}>
                  Open
                </Link>
              ) : (
                <Button
                  size="sm"
                  onClick={() => void join(r.room.id)}
                  disabled={joining === r.room.id}
                  aria-label={`Join ${name}`}
                >
                  Join
                </Button>
              )}
            </li>
          );
        })}
      </ul>
      <NewRoomModal show={creating} onHide={() => setCreating(false)} />
    </div>
  );
}
