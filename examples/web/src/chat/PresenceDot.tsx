import type { S } from "../api/client";
import { presenceText } from "./format";

/**
 * A green or grey dot, with a tooltip; its meaning as text for screen readers unless the
 * caller says it itself (`labelled={false}`), after the name, say.
 */
export function PresenceDot({ presence, labelled = true }: { presence: S["PresenceInfo"] | undefined; labelled?: boolean }) {
  return (
    <span
      className={`presence-dot ${presence?.online ? "bg-success" : "bg-secondary"}`}
      title={presenceText(presence)}
      aria-hidden={labelled ? undefined : true}
    >
      {labelled && <span className="visually-hidden">{presence?.online ? "Online" : "Offline"}</span>}
    </span>
  );
}
