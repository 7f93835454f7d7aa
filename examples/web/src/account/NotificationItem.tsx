import Button from "react-bootstrap/Button";
import ListGroup from "react-bootstrap/ListGroup";
import { Link } from "react-router-dom";
import type { S } from "../api/client";
import type { RoomEntry } from "../realtime";
import { Avatar } from "./Avatar";
import { displayName, fullTime, timeAgo } from "./format";

/** What happened, in words ("mentioned you"); unknown kinds read generically. */
function what(n: S["Notification"]): string {
  switch (n.kind) {
    case "direct_message":
      return "sent you a direct message";
    case "mention":
      return "mentioned you";
    case "reply":
      return "replied to your message";
    case "reaction":
      return `reacted ${n.detail ?? ""} to your message`.replace(/\s+/g, " ");
    case "invite":
      return "added you to a room";
    default:
      return "notified you";
  }
}

/** Where it happened: the room's name, or the direct conversation. */
function where(room: RoomEntry | undefined): string {
  if (!room) return "a room";
  if (room.summary.room.kind === "direct") {
    return room.summary.peer ? `your conversation with ${displayName(room.summary.peer)}` : "a direct conversation";
  }
  return `#${room.summary.room.name ?? room.summary.room.id}`;
}

/** The room (and message) a notification points into. */
export function notificationHref(n: S["Notification"]): string {
  return n.message_id != null ? `/rooms/${n.room_id}?message=${n.message_id}` : `/rooms/${n.room_id}`;
}

interface Props {
  notification: S["Notification"];
  room: RoomEntry | undefined;
  now: number;
  onOpen: () => void;
  onMarkRead: () => void;
}

/** One notification: who, what, where and when; unread ones stand out and can be marked read. */
export function NotificationItem({ notification: n, room, now, onOpen, onMarkRead }: Props) {
  const actor = displayName(n.actor);
  const text = n.kind === "direct_message" ? `${actor} ${what(n)}` : `${actor} ${what(n)} in ${where(room)}`;
  return (
    <ListGroup.Item as="li" className={`notification-item d-flex gap-3 align-items-start${n.read ? "" : " unread"}`}>
      <Avatar user={n.actor} size={36} />
      <div className="flex-grow-1 min-w-0">
        <Link to={notificationHref(n)} onClick={onOpen} className={`d-block text-break text-decoration-none${n.read ? " text-body" : " fw-semibold"}`}>
          {!n.read && <span className="visually-hidden">Unread: </span>}
          {text}
        </Link>
        <div className="small text-body-secondary">
          <time dateTime={new Date(n.created_at).toISOString()} title={fullTime(n.created_at)}>{timeAgo(n.created_at, now)}</time>
        </div>
      </div>
      {!n.read && (
        <Button size="sm" variant="outline-secondary" className="text-nowrap" onClick={onMarkRead}>
          Mark read<span className="visually-hidden">: {text}</span>
        </Button>
      )}
    </ListGroup.Item>
  );
}
