import { useState } from "react";
import Alert from "react-bootstrap/Alert";
import Button from "react-bootstrap/Button";
import ListGroup from "react-bootstrap/ListGroup";
import Spinner from "react-bootstrap/Spinner";
import { errorText } from "../api/client";
import { NotificationItem } from "../account/NotificationItem";
import { useNotifications } from "../account/useNotifications";
import { useNow } from "../account/useNow";
import { useRooms, useUnreadNotifications } from "../realtime";
import "../account/account.css";

/** Mentions, replies, reactions, direct messages and invitations, newest first, live. */
export function NotificationsPage() {
  const list = useNotifications();
  const unread = useUnreadNotifications();
  const rooms = useRooms();
  const now = useNow();
  const [error, setError] = useState<string>();
  const roomById = new Map(rooms.map((r) => [r.summary.room.id, r]));

  function run(action: () => Promise<void>) {
    setError(undefined);
    action().catch((e: unknown) => setError(errorText(e)));
  }

  return (
    <div className="account-page">
      <div className="d-flex flex-wrap align-items-center justify-content-between gap-2 mb-3">
        <h1 className="h3 mb-0">Notifications</h1>
        <Button variant="outline-primary" size="sm" disabled={unread === 0} onClick={() => run(list.markAllRead)}>
          Mark all read
        </Button>
      </div>
      <p className="visually-hidden" role="status">{unread === 0 ? "No unread notifications" : `${unread} unread`}</p>
      {(error ?? list.error) && <Alert variant="danger">{error ?? list.error}</Alert>}
      {!list.loading && list.items.length === 0 && !list.error && (
        <p className="text-body-secondary">Nothing yet. Mentions, replies, reactions and direct messages show up here.</p>
      )}
      {list.items.length > 0 && (
        <ListGroup as="ul" aria-label="Notifications">
          {list.items.map((n) => (
            <NotificationItem
              key={n.id}
              notification={n}
              room={roomById.get(n.room_id)}
              now={now}
              onOpen={() => {
                if (!n.read) void list.markRead(n.id).catch(() => undefined);
              }}
              onMarkRead={() => run(() => list.markRead(n.id))}
            />
          ))}
        </ListGroup>
      )}
      <div className="text-center my-3">
        {list.loading ? (
          <Spinner animation="border" size="sm" role="status"><span className="visually-hidden">Loading notifications…</span></Spinner>
        ) : (
          list.hasMore && <Button variant="outline-secondary" onClick={() => run(list.loadMore)}>Load more</Button>
        )}
      </div>
    </div>
  );
}
