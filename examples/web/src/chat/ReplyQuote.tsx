import { useEffect, useState } from "react";
import { api, unwrap, type S } from "../api/client";
import { userName } from "./format";

// Messages fetched for quotes of replies whose original is not in the loaded timeline.
const fetched = new Map<number, Promise<S["Message"] | null>>();

function fetchMessage(id: number): Promise<S["Message"] | null> {
  let p = fetched.get(id);
  if (!p) {
    p = unwrap(api.GET("/v1/messages/{message_id}", { params: { path: { message_id: id } } })).catch(() => null);
    fetched.set(id, p);
  }
  return p;
}

interface Props {
  messageId: number;
  /** The original when it is in the loaded timeline. */
  loaded: S["Message"] | undefined;
  onJump: (messageId: number) => void;
}

/** The quote of the message a reply answers; a click goes to it when it is loaded. */
export function ReplyQuote({ messageId, loaded, onJump }: Props) {
  const [remote, setRemote] = useState<{ id: number; message: S["Message"] | null } | null>(null);
  useEffect(() => {
    if (loaded) return;
    let live = true;
    void fetchMessage(messageId).then((message) => {
      if (live) setRemote({ id: messageId, message });
    });
    return () => {
      live = false;
    };
  }, [messageId, loaded]);
  const original = loaded ?? (remote?.id === messageId ? remote.message : null);
  const text = !original
    ? "an earlier message"
    : original.deleted
      ? "a deleted message"
      : original.body || original.attachments.map((a) => a.filename).join(", ");
  const who = original ? userName(original.sender) : "";
  return (
    <button
      type="button"
      className="chat-quote text-truncate"
      onClick={() => onJump(messageId)}
      disabled={!loaded}
      aria-label={`Reply to ${who ? `${who}: ` : ""}${text}`}
    >
      <span className="fw-semibold">{who}</span> {text}
    </button>
  );
}
