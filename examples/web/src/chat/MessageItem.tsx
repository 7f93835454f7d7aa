import { memo } from "react";
import Button from "react-bootstrap/Button";
import Spinner from "react-bootstrap/Spinner";
import { Link } from "react-router-dom";
import type { S } from "../api/client";
import { chat, type TimelineItem } from "../realtime";
import { Attachments } from "./Attachments";
import { clockTime, dayLabel, fullTime, userName } from "./format";
import { MessageActions } from "./MessageActions";
import { MessageBody } from "./MessageBody";
import { Reactions, toggleReaction } from "./Reactions";
import { ReplyQuote } from "./ReplyQuote";

/** What a message row needs from the room around it. */
export interface MessageContext {
  me: S["Account"];
  myRole: S["Role"] | null | undefined;
  names: Map<number, string>;
  usernames: Set<string>;
  findLoaded: (messageId: number) => S["Message"] | undefined;
  onReply: (m: S["Message"]) => void;
  onEdit: (m: S["Message"]) => void;
  onDelete: (m: S["Message"]) => void;
  onForward: (m: S["Message"]) => void;
  onJump: (messageId: number) => void;
  onError: (text: string) => void;
}

interface Props {
  item: TimelineItem;
  ctx: MessageContext;
  /** Day separator above the message. */
  day: boolean;
  /** "New messages" separator above the message. */
  unread: boolean;
  /** Names of those whose read watermark reached this message (shown on my own). */
  readBy: string[];
  flash: boolean;
}

/** One message of the timeline, with its separators, as a list item. */
export const MessageItem = memo(function MessageItem({ item, ctx, day, unread, readBy, flash }: Props) {
  const m = item.message;
  const mine = m.sender.id === ctx.me.id;
  const sent = item.status === "sent";
  const mentionsMe = !mine && m.mentions.includes(ctx.me.id);
  const idBase = `msg-${item.key}`;
  const canModerate = ctx.myRole === "admin" || ctx.myRole === "owner";

  return (
    <div role="listitem" aria-labelledby={`${idBase}-sender ${idBase}-time`} aria-describedby={`${idBase}-content`}>
      {day && (
        <div className="chat-separator">
          <span>{dayLabel(m.created_at)}</span>
        </div>
      )}
      {unread && (
        <div className="chat-separator unread" id="unread-separator">
          <span>New messages</span>
        </div>
      )}
      <div
        id={m.id > 0 ? `message-${m.id}` : undefined}
        tabIndex={-1}
        className={`chat-message${mentionsMe ? " mentions-me" : ""}${flash ? " flash" : ""}`}
      >
        <div className="d-flex align-items-baseline gap-2">
          <Link to={`/users/${m.sender.id}`} id={`${idBase}-sender`} className="fw-semibold text-decoration-none text-body">
            {userName(m.sender)}
          </Link>
          <time
            id={`${idBase}-time`}
            className="small text-body-secondary"
            dateTime={new Date(m.created_at).toISOString()}
            title={fullTime(m.created_at)}
          >
            {clockTime(m.created_at)}
          </time>
          {m.edited_at && !m.deleted && (
            <span className="small text-body-secondary" title={`Edited ${fullTime(m.edited_at)}`}>(edited)</span>
          )}
          {m.forwarded_from != null && !m.deleted && <span className="small text-body-secondary">Forwarded</span>}
        </div>
        <div id={`${idBase}-content`}>
          {m.reply_to != null && !m.deleted && (
            <ReplyQuote messageId={m.reply_to} loaded={ctx.findLoaded(m.reply_to)} onJump={ctx.onJump} />
          )}
          {m.deleted ? (
            <div className="fst-italic text-body-secondary">This message was deleted.</div>
          ) : (
            <>
              {m.body && <MessageBody body={m.body} members={ctx.usernames} me={ctx.me.username} />}
              <Attachments files={m.attachments} />
            </>
          )}
        </div>
        {item.status === "pending" && (
          <div className="small text-body-secondary d-flex align-items-center gap-1">
            <Spinner animation="border" size="sm" aria-hidden="true" /> Sending…
          </div>
        )}
        {item.status === "failed" && (
          <div className="small text-danger d-flex flex-wrap align-items-center gap-2" role="alert">
            <span>Not sent{item.error ? `: ${item.error}` : ""}</span>
            <Button size="sm" variant="" className="chat-btn-danger-quiet py-0" onClick={() => chat.retry(m.client_id)}>
              Retry
            </Button>
            <Button size="sm" variant="" className="chat-btn-quiet py-0" onClick={() => chat.discard(m.client_id)}>
              Discard
            </Button>
          </div>
        )}
        {sent && !m.deleted && (
          <Reactions message={m} myId={ctx.me.id} names={ctx.names} onError={ctx.onError} />
        )}
        {mine && readBy.length > 0 && (
          <div className="small text-body-secondary text-end">Read by {readBy.join(", ")}</div>
        )}
        {sent && !m.deleted && (
          <MessageActions
            canEdit={mine}
            canDelete={mine || canModerate}
            hasText={m.body !== ""}
            onReply={() => ctx.onReply(m)}
            onEdit={() => ctx.onEdit(m)}
            onDelete={() => ctx.onDelete(m)}
            onForward={() => ctx.onForward(m)}
            onCopy={() => void navigator.clipboard.writeText(m.body).catch(() => ctx.onError("Copying needs clipboard access."))}
            onReact={(emoji) => toggleReaction(m.id, emoji, ctx.onError)}
          />
        )}
      </div>
    </div>
  );
});
