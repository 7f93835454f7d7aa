import { useState } from "react";
import Alert from "react-bootstrap/Alert";
import Button from "react-bootstrap/Button";
import Modal from "react-bootstrap/Modal";
import { errorText, type S } from "../api/client";
import { chat } from "../realtime";
import { userName } from "./format";

/** Confirms deleting a message (mine, or anyone's as a room admin). */
export function DeleteModal({ message, mine, onHide }: { message: S["Message"]; mine: boolean; onHide: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function confirm() {
    setBusy(true);
    try {
      await chat.remove(message.id);
      onHide();
    } catch (e) {
      setError(errorText(e));
      setBusy(false);
    }
  }
  return (
    <Modal show onHide={onHide} aria-labelledby="delete-title">
      <Modal.Header closeButton>
        <Modal.Title id="delete-title">Delete message?</Modal.Title>
      </Modal.Header>
      <Modal.Body>
        {error && <Alert variant="danger">{error}</Alert>}
        <p className="mb-1">{mine ? "Your message" : `${userName(message.sender)}’s message`} will be replaced by “This message was deleted.” for everyone.</p>
        {message.body && <blockquote className="border-start ps-2 text-body-secondary text-truncate mb-0">{message.body}</blockquote>}
      </Modal.Body>
      <Modal.Footer>
        <Button variant="secondary" onClick={onHide}>Cancel</Button>
        <Button variant="danger" onClick={() => void confirm()} disabled={busy}>Delete</Button>
      </Modal.Footer>
    </Modal>
  );
}
