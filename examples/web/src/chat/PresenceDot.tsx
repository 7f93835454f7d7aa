import type { S } from "../api/client";
import { presenceText } from "./format";

/** A green or grey dot with its meaning as text for screen readers and as a tooltip. */
export function PresenceDot({ presence }: { presence: S["PresenceInfo"] | undefined }) {
  const text = presenceText(presence);
  return (
    <span className={`presence-dot ${presence?.online ? "bg-success" : "bg-secondary"}`} title={text}>
      <span className="visually-hidden">{presence?.online ? "Online" : "Offline"}</span>
    </span>
  );
}
