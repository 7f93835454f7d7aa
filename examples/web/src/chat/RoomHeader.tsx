import { useState } from "react";
import Alert from "react-bootstrap/Alert";
import Button from "react-bootstrap/Button";
import Modal from "react-bootstrap/Modal";
import { Link, useNavigate } from "react-router-dom";
import { api, errorText, unwrap, type S } from "../api/client";
import { usePresence } from "../realtime";
import { presenceText, roomTitle } from "./format";
import { PeopleIcon } from "./Icons";
import { PresenceDot } from "./PresenceDot";

/** The conversation's name and topic (or the peer and their presence), members, leave. */
export function RoomHeader({ summary, onMembers }: { summary: S["RoomSummary"]; onMembers: () => void }) {
  const { room, peer } = summary;
  const direct = room.kind === "direct";
  const [leaving, setLeaving] = useState(false);
  return (
    <header className="chat-header">
      <Link to="/" className="btn btn-sm chat-btn-quiet d-md-none" aria-label="Back to conversations">←</Link>
      <div className="chat-header-title">
        {direct && peer ? (
          <DirectTitle peer={peer} />
        ) : (
          <>
            <h1 className="text-truncate">
              <span aria-hidden="true" className="text-body-secondary">{room.kind === "private" ? "🔒 " : "# "}</span>
              {roomTitle(summary)}
            </h1>
            {room.topic && <div className="small text-body-secondary text-truncate">{room.topic}</div>}
          </>
        )}
      </div>
      {!direct && (
        <>
          <Button size="sm" variant="" className="chat-btn-quiet" onClick={onMembers} aria-label={`Members (${room.member_count})`}>
            <PeopleIcon /> {room.member_count}
          </Button>
          <Button size="sm" variant="" className="chat-btn-danger-quiet" onClick={() => setLeaving(true)}>Leave</Button>
          {leaving && <LeaveModal summary={summary} onHide={() => setLeaving(false)} />}
        </>
      )}
    </header>
  );
}

function DirectTitle({ peer }: { peer: S["UserRef"] }) {
  const presence = usePresence([peer.id]).get(peer.id);
  return (
    <>
      <h1 className="text-truncate d-flex align-items-center gap-2" aria-describedby="peer-presence">
        <PresenceDot presence={presence} labelled={false} />
        <Link to={`/users/${peer.id}`} className="text-reset text-decoration-none">
          {peer.display_name || peer.username}
        </Link>
      </h1>
      <div className="small text-body-secondary" id="peer-presence">{presenceText(presence)}</div>
    </>
  );
}

function LeaveModal({ summary, onHide }: { summary: S["RoomSummary"]; onHide: () => void }) {
  const navigate = useNavigate();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function leave() {
    setBusy(true);
    try {
      await unwrap(api.POST("/v1/rooms/{room_id}/leave", { params: { path: { room_id: summary.room.id } } }));
      onHide();
      void navigate("/");
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  }
  return (
    <Modal show onHide={onHide} aria-labelledby="leave-title">
      <Modal.Header closeButton>
        <Modal.Title id="leave-title">Leave {roomTitle(summary)}?</Modal.Title>
      </Modal.Header>
      <Modal.Body>
        {error && <Alert variant="danger">{error}</Alert>}
        {summary.room.kind === "private"
          ? "It is a private room: you will need to be added again to come back."
          : "You can join it again from Browse rooms."}
        {summary.role === "owner" && " As the owner, you hand the room to the longest-standing admin or member."}
      </Modal.Body>
      <Modal.Footer>
        <Button variant="secondary" onClick={onHide}>Cancel</Button>
        <Button variant="danger" onClick={() => void leave()} disabled={busy}>Leave room</Button>
      </Modal.Footer>
    </Modal>
  );
}
