import { useState, type FormEvent } from "react";
import Alert from "react-bootstrap/Alert";
import Button from "react-bootstrap/Button";
import Form from "react-bootstrap/Form";
import Modal from "react-bootstrap/Modal";
import { useNavigate } from "react-router-dom";
import { api, errorText, unwrap, type S } from "../api/client";

/** Creates a public or private room, then opens it. */
export function NewRoomModal({ show, onHide }: { show: boolean; onHide: () => void }) {
  const navigate = useNavigate();
  const [name, setName] = useState("");
  const [topic, setTopic] = useState("");
  const [kind, setKind] = useState<S["GroupKind"]>("public");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const room = await unwrap(api.POST("/v1/rooms", { body: { name: name.trim(), topic: topic.trim(), kind } }));
      setName("");
      setTopic("");
      onHide();
      void navigate(`/rooms/${room.id}`);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal show={show} onHide={onHide} aria-labelledby="new-room-title">
      <Form onSubmit={(e) => void submit(e)}>
        <Modal.Header closeButton>
          <Modal.Title id="new-room-title">New room</Modal.Title>
        </Modal.Header>
        <Modal.Body>
          {error && <Alert variant="danger">{error}</Alert>}
          <Form.Group className="mb-3" controlId="new-room-name">
            <Form.Label>Name</Form.Label>
            <Form.Control
              value={name}
              onChange={(e) => setName(e.target.value)}
              required
              minLength={2}
              maxLength={64}
              pattern="[A-Za-z0-9][A-Za-z0-9_\-]*"
              autoFocus
              aria-describedby="new-room-name-help"
            />
            <Form.Text id="new-room-name-help">2 to 64 letters, digits, “-” or “_”.</Form.Text>
          </Form.Group>
          <Form.Group className="mb-3" controlId="new-room-topic">
            <Form.Label>Topic</Form.Label>
            <Form.Control value={topic} onChange={(e) => setTopic(e.target.value)} />
          </Form.Group>
          <fieldset>
            <legend className="form-label fs-6">Who can join</legend>
            <Form.Check
              type="radio"
              id="new-room-public"
              name="kind"
              label="Public: anyone can find and join it"
              checked={kind === "public"}
              onChange={() => setKind("public")}
            />
            <Form.Check
              type="radio"
              id="new-room-private"
              name="kind"
              label="Private: members add people"
              checked={kind === "private"}
              onChange={() => setKind("private")}
            />
          </fieldset>
        </Modal.Body>
        <Modal.Footer>
          <Button variant="secondary" onClick={onHide}>Cancel</Button>
          <Button type="submit" disabled={busy}>Create room</Button>
        </Modal.Footer>
      </Form>
    </Modal>
  );
}
