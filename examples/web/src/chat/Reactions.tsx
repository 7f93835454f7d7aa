import { useState } from "react";
import Dropdown from "react-bootstrap/Dropdown";
import { errorText, type S } from "../api/client";
import { chat } from "../realtime";

/** The emoji offered by the picker. */
export const EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀", "🔥", "✅", "👎", "🚀"];

interface Props {
  message: S["Message"];
  myId: number;
  names: Map<number, string>;
  onError: (text: string) => void;
}

/** Reaction chips (counts, who, mine pressed) and a small emoji picker. */
export function Reactions({ message, myId, names, onError }: Props) {
  function toggle(emoji: string) {
    chat.react(message.id, emoji).catch((e: unknown) => onError(errorText(e)));
  }
  return (
    <div className="d-flex flex-wrap align-items-center gap-1 mt-1">
      {message.reactions.map((r) => {
        const mine = r.users.includes(myId);
        const who = r.users.map((id) => (id === myId ? "you" : (names.get(id) ?? `user ${id}`))).join(", ");
        return (
          <button
            key={r.emoji}
            type="button"
            className="btn btn-sm btn-outline-secondary rounded-pill py-0 chat-reaction"
            aria-pressed={mine}
            title={`${r.emoji} by ${who}`}
            aria-label={`${r.emoji} ${r.users.length}, by ${who}`}
            onClick={() => toggle(r.emoji)}
          >
            {r.emoji} {r.users.length}
          </button>
        );
      })}
      {!message.deleted && message.id > 0 && <EmojiPicker onPick={toggle} />}
    </div>
  );
}

/** A button opening a fixed grid of common emoji. */
export function EmojiPicker({ onPick }: { onPick: (emoji: string) => void }) {
  const [open, setOpen] = useState(false);
  return (
    <Dropdown show={open} onToggle={(next) => setOpen(next)}>
      <Dropdown.Toggle
        variant="link"
        size="sm"
        className="py-0 px-1 text-body-secondary text-decoration-none"
        aria-label="Add reaction"
        title="Add reaction"
      >
        ☺+
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
