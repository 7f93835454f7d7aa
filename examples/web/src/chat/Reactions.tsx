import { useState } from "react";
import Dropdown from "react-bootstrap/Dropdown";
import { errorText, type S } from "../api/client";
import { chat } from "../realtime";
import { SmileIcon } from "./Icons";

/** The emoji offered by the picker. */
export const EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀", "🔥", "✅", "👎", "🚀"];

interface Props {
  message: S["Message"];
  myId: number;
  names: Map<number, string>;
  onError: (text: string) => void;
}

/** Adds my reaction, or takes it back. */
export function toggleReaction(messageId: number, emoji: string, onError: (text: string) => void) {
  chat.react(messageId, emoji).catch((e: unknown) => onError(errorText(e)));
}

/** Reaction chips: the count, who (as a tooltip and in the name), mine pressed. */
export function Reactions({ message, myId, names, onError }: Props) {
  if (message.reactions.length === 0) return null;
  const toggle = (emoji: string) => toggleReaction(message.id, emoji, onError);
  return (
    <div className="d-flex flex-wrap align-items-center gap-1 mt-1">
      {message.reactions.map((r) => {
        const mine = r.users.includes(myId);
        const who = r.users.map((id) => (id === myId ? "you" : (names.get(id) ?? `user ${id}`))).join(", ");
        return (
          <button
            key={r.emoji}
            type="button"
            className="btn btn-sm chat-btn-quiet rounded-pill py-0 chat-reaction"
            aria-pressed={mine}
            title={`${r.emoji} by ${who}`}
            aria-label={`${r.emoji} ${r.users.length}, by ${who}`}
            onClick={() => toggle(r.emoji)}
          >
            {r.emoji} {r.users.length}
          </button>
        );
      })}
    </div>
  );
}

/** A button opening a fixed grid of common emoji. */
export function EmojiPicker({ onPick }: { onPick: (emoji: string) => void }) {
  const [open, setOpen] = useState(false);
  return (
    <Dropdown show={open} onToggle={(next) => setOpen(next)}>
      <Dropdown.Toggle variant="" size="sm" className="chat-btn-quiet py-0 chat-no-caret" aria-label="Add reaction" title="Add reaction">
        <SmileIcon />
      </Dropdown.Toggle>
      <Dropdown.Menu>
        <div className="chat-emoji-grid" role="group" aria-label="Emoji">
          {EMOJI.map((emoji) => (
            <Dropdown.Item
              as="button"
              key={emoji}
              className="text-center px-0 fs-5"
              aria-label={`React with ${emoji}`}
              onClick={() => {
                onPick(emoji);
                setOpen(false);
              }}
            >
              {emoji}
            </Dropdown.Item>
          ))}
        </div>
      </Dropdown.Menu>
    </Dropdown>
  );
}
