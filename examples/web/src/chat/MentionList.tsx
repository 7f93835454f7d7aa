import type { S } from "../api/client";
import { userName } from "./format";

interface Props {
  id: string;
  candidates: S["UserRef"][];
  active: number;
  onPick: (user: S["UserRef"]) => void;
}

/** The `@` autocomplete: room members matching what follows the `@`. */
export function MentionList({ id, candidates, active, onPick }: Props) {
  return (
    <ul id={id} role="listbox" aria-label="Mention a member" className="chat-autocomplete list-group shadow">
      {candidates.map((u, i) => (
        <li
          key={u.id}
          id={`${id}-${u.id}`}
          role="option"
          aria-selected={i === active}
          className={`list-group-item list-group-item-action${i === active ? " active" : ""}`}
          onMouseDown={(e) => {
            e.preventDefault();
            onPick(u);
          }}
        >
          <span className="fw-semibold">@{u.username}</span>
          {u.display_name && <span className="ms-2 small">{userName(u)}</span>}
        </li>
      ))}
    </ul>
  );
}
