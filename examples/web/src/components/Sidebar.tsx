import { useMemo, useState } from "react";
import Badge from "react-bootstrap/Badge";
import Button from "react-bootstrap/Button";
import { Link, NavLink, useMatch } from "react-router-dom";
import { usePresence, useRooms, type RoomEntry } from "../realtime";
import { roomTitle } from "../chat/format";
import { NewRoomModal } from "../chat/NewRoomModal";
import { PresenceDot } from "../chat/PresenceDot";
import type { S } from "../api/client";
import "../chat/chat.css";

/**
 * The conversations: group rooms and direct messages, with unread counts. On a phone it is
 * the home screen and steps aside while a conversation is open.
 */
export function Sidebar() {
  const rooms = useRooms();
  const isHome = useMatch("/") !== null;
  const [creating, setCreating] = useState(false);
  const groups = rooms.filter((r) => r.summary.room.kind !== "direct");
  const directs = rooms.filter((r) => r.summary.room.kind === "direct");
  const peerIds = useMemo(
    () => rooms.flatMap((r) => (r.summary.room.kind === "direct" && r.summary.peer ? [r.summary.peer.id] : [])),
    [rooms],
  );
  const presence = usePresence(peerIds);

  return (
    <nav className={`chat-sidebar border-end bg-body${isHome ? " is-home" : ""}`} aria-label="Conversations">
      <div className="d-flex gap-2 p-2 border-bottom">
        <Button size="sm" onClick={() => setCreating(true)}>New room</Button>
        <Link to="/rooms" className="btn btn-sm chat-btn-quiet">Browse rooms</Link>
      </div>
      <div className="chat-sidebar-lists">
        <h2 className="chat-sidebar-heading" id="sidebar-rooms">Rooms</h2>
        <ul className="list-unstyled mb-2" aria-labelledby="sidebar-rooms">
          {groups.map((r) => <Conversation key={r.summary.room.id} entry={r} />)}
          {groups.length === 0 && <li className="px-3 small text-body-secondary">No rooms yet.</li>}
        </ul>
        <h2 className="chat-sidebar-heading" id="sidebar-directs">Direct messages</h2>
        <ul className="list-unstyled mb-2" aria-labelledby="sidebar-directs">
          {directs.map((r) => (
            <Conversation
              key={r.summary.room.id}
              entry={r}
              presence={r.summary.peer ? presence.get(r.summary.peer.id) : undefined}
            />
          ))}
          {directs.length === 0 && (
            <li className="px-3 small text-body-secondary">
              None yet. <Link to="/people">Find people</Link>
            </li>
          )}
        </ul>
      </div>
      <NewRoomModal show={creating} onHide={() => setCreating(false)} />
    </nav>
  );
}

function Conversation({ entry, presence }: { entry: RoomEntry; presence?: S["PresenceInfo"] | undefined }) {
  const { room, unread } = entry.summary;
  const direct = room.kind === "direct";
  return (
    <li>
      <NavLink
        to={`/rooms/${room.id}`}
        className={({ isActive }) =>
          `chat-sidebar-item d-flex align-items-center gap-2 px-3 py-1 text-decoration-none${isActive ? " active" : ""}`
        }
      >
        {direct ? (
          <PresenceDot presence={presence} labelled={false} />
        ) : (
          <span aria-hidden="true" className="text-body-secondary">{room.kind === "private" ? "🔒" : "#"}</span>
        )}
        <span className={`text-truncate flex-grow-1${unread > 0 ? " fw-semibold" : ""}`}>
          {roomTitle(entry.summary)}
          {room.kind === "private" && <span className="visually-hidden"> (private)</span>}
          {direct && <span className="visually-hidden">, {presence?.online ? "online" : "offline"}</span>}
        </span>
        {unread > 0 && (
          <Badge pill bg="primary" role="img" aria-label={`${unread} unread`}>
            {unread > 99 ? "99+" : unread}
          </Badge>
        )}
      </NavLink>
    </li>
  );
}
