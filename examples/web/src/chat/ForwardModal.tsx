import { useState } from "react";
import Alert from "react-bootstrap/Alert";
import Button from "react-bootstrap/Button";
import ListGroup from "react-bootstrap/ListGroup";
import Modal from "react-bootstrap/Modal";
import { Link } from "react-router-dom";
import { api, errorText, unwrap, type S } from "../api/client";
import { useRooms } from "../realtime";
import { newClientId, roomTitle } from "./format";

/** Picks another conversation and forwards a message there. */
export function ForwardModal({ message, onHide }: { message: S["Message"]; onHide: () => void }) {
  const rooms = useRooms().filter((r) => r.summary.room.id !== message.room_id);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<S["RoomSummary"] | null>(null);
  const [busy, setBusy] = useState(false);
  // One key per forward dialog: a retry after a lost answer does not post twice.
  const [clientId] = useState(() => newClientId("fwd"));

  async function forward(target: S["RoomSummary"]) {
    setBusy(true);
    setError(null);
    try {
      await unwrap(
        api.POST("/v1/messages/{message_id}/forward", {
          params: { path: { message_id: message.id } },
          body: { room_id: target.room.id, client_id: `${clientId}-${target.room.id}` },
        }),
      );
      setDone(target);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal show onHide={onHide} aria-labelledby="forward-title">
      <Modal.Header closeButton>
        <Modal.Title id="forward-title">Forward message</Modal.Title>
      </Modal.Header>
      <Modal.Body>
        {error && <Alert variant="danger">{error}</Alert>}
        {done ? (
          <Alert variant="success">
            Forwarded to <Link to={`/rooms/${done.room.id}`} onClick={onHide}>{roomTitle(done)}</Link>.
          </Alert>
        ) : rooms.length === 0 ? (
          <p>You have no other conversation to forward to.</p>
        ) : (
          <ListGroup aria-label="Conversations">
            {rooms.map((r) => (
              <ListGroup.Item action key={r.summary.room.id} disabled={busy} onClick={() => void forward(r.summary)}>
                {r.summary.room.kind === "direct" ? "" : "#"}
                {roomTitle(r.summary)}
              </ListGroup.Item>
            ))}
          </ListGroup>
        )}
      </Modal.Body>
      <Modal.Footer>
        <Button variant="secondary" onClick={onHide}>{done ? "Close" : "Cancel"}</Button>
      </Modal.Footer>
    </Modal>
  );
}
