import { useEffect, useMemo, useState } from "react";
import Alert from "react-bootstrap/Alert";
import Badge from "react-bootstrap/Badge";
import Button from "react-bootstrap/Button";
import Form from "react-bootstrap/Form";
import ListGroup from "react-bootstrap/ListGroup";
import Modal from "react-bootstrap/Modal";
import { Link } from "react-router-dom";
import { api, errorText, unwrap, type S } from "../api/client";
import { usePresence } from "../realtime";
import { canModerate, outranks, presenceText, roomTitle, userName } from "./format";
import { PresenceDot } from "./PresenceDot";

interface Props {
  summary: S["RoomSummary"];
  me: S["Account"];
  members: S["Member"][];
  onHide: () => void;
}

/** The room's members with roles and presence; adding, promoting and removing per my role. */
export function MembersModal({ summary, me, members, onHide }: Props) {
  const roomId = summary.room.id;
  const myRole = summary.role;
  const ids = useMemo(() => members.map((m) => m.user.id), [members]);
  const presence = usePresence(ids);
  const [error, setError] = useState<string | null>(null);

  async function act(request: Promise<unknown>) {
    setError(null);
    try {
      await request;
    } catch (e) {
      setError(errorText(e));
    }
  }

  function setRole(userId: number, role: S["Role"]) {
    void act(
      unwrap(api.PUT("/v1/rooms/{room_id}/members/{user_id}/role", { params: { path: { room_id: roomId, user_id: userId } }, body: { role } })),
    );
  }

  function remove(userId: number) {
    void act(unwrap(api.DELETE("/v1/rooms/{room_id}/members/{user_id}", { params: { path: { room_id: roomId, user_id: userId } } })));
  }

  return (
    <Modal show onHide={onHide} aria-labelledby="members-title" scrollable>
      <Modal.Header closeButton>
        <Modal.Title id="members-title">Members of {roomTitle(summary)}</Modal.Title>
      </Modal.Header>
      <Modal.Body>
        {error && <Alert variant="danger" dismissible onClose={() => setError(null)}>{error}</Alert>}
        {canModerate(myRole) && (
          <AddMember roomId={roomId} memberIds={new Set(ids)} onError={setError} />
        )}
        <ListGroup as="ul" aria-label="Members">
          {members.map((m) => {
            const self = m.user.id === me.id;
            const name = userName(m.user);
            return (
              <ListGroup.Item as="li" key={m.user.id} className="d-flex align-items-center gap-2 flex-wrap">
                <PresenceDot presence={presence.get(m.user.id)} />
                <div className="flex-grow-1 min-w-0">
                  <Link to={`/users/${m.user.id}`} onClick={onHide}>{name}</Link>
                  {self && <span className="text-body-secondary"> (you)</span>}
                  <div className="small text-body-secondary">@{m.user.username} · {presenceText(presence.get(m.user.id))}</div>
                </div>
                {myRole === "owner" && !self ? (
                  <Form.Select
                    size="sm"
                    style={{ width: "auto" }}
                    aria-label={`Role of ${name}`}
                    value={m.role}
                    onChange={(e) => setRole(m.user.id, e.target.value as S["Role"])}
                  >
                    <option value="member">member</option>
                    <option value="admin">admin</option>
                    <option value="owner">owner</option>
                  </Form.Select>
                ) : (
                  m.role !== "member" && <Badge bg={m.role === "owner" ? "primary" : "info"}>{m.role}</Badge>
                )}
                {!self && outranks(myRole, m.role) && (
                  <Button size="sm" variant="" className="chat-btn-danger-quiet" onClick={() => remove(m.user.id)} aria-label={`Remove ${name}`}>
                    Remove
                  </Button>
                )}
              </ListGroup.Item>
            );
          })}
        </ListGroup>
      </Modal.Body>
    </Modal>
  );
}

/** Finds people by username and adds them to the room. */
function AddMember({ roomId, memberIds, onError }: { roomId: number; memberIds: Set<number>; onError: (e: string) => void }) {
  const [query, setQuery] = useState("");
  const [found, setFound] = useState<S["UserRef"][]>([]);
  const q = query.trim();

  useEffect(() => {
    if (q.length < 1) return;
    let live = true;
    const timer = setTimeout(() => {
      unwrap(api.GET("/v1/users/search", { params: { query: { q, limit: 8 } } })).then(
        (users) => {
          if (live) setFound(users);
        },
        (e: unknown) => {
          if (live) onError(errorText(e));
        },
      );
    }, 200);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [q, onError]);

  async function add(user: S["UserRef"]) {
    try {
      await unwrap(api.POST("/v1/rooms/{room_id}/members", { params: { path: { room_id: roomId } }, body: { user_id: user.id } }));
      setQuery("");
      setFound([]);
    } catch (e) {
      onError(errorText(e));
    }
  }

  const shown = q ? found : [];
  return (
    <div className="mb-3">
      <Form.Label htmlFor="add-member">Add someone</Form.Label>
      <Form.Control
        id="add-member"
        type="search"
        placeholder="Username or email"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        autoComplete="off"
      />
      {shown.length > 0 && (
        <ListGroup className="mt-1" aria-label="People found">
          {shown.map((u) => (
            <ListGroup.Item key={u.id} className="d-flex align-items-center gap-2">
              <span className="flex-grow-1">{userName(u)} <span className="text-body-secondary small">@{u.username}</span></span>
              {memberIds.has(u.id) ? (
                <span className="small text-body-secondary">Member</span>
              ) : (
                <Button size="sm" onClick={() => void add(u)} aria-label={`Add ${u.username}`}>Add</Button>
              )}
            </ListGroup.Item>
          ))}
        </ListGroup>
      )}
    </div>
  );
}
