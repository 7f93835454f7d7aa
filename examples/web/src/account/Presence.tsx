import type { S } from "../api/client";
import { fullTime, timeAgo } from "./format";
import { useNow } from "./useNow";
import "./account.css";

/**
 * A green (online) or grey (offline) dot with "Online" or "Last seen 5 min ago"; nothing while
 * the presence is not known yet.
 */
export function Presence({ presence }: { presence: S["PresenceInfo"] | undefined }) {
  const now = useNow();
  if (!presence) return null;
  const online = presence.online;
  const lastSeen = online ? undefined : presence.last_seen;
  return (
    <span className="d-inline-flex align-items-center gap-1 small text-body-secondary">
      <span className={online ? "presence-dot online" : "presence-dot"} aria-hidden="true" />
      {lastSeen != null ? (
        <span>
          Last seen{" "}
          <time dateTime={new Date(lastSeen).toISOString()} title={fullTime(lastSeen)}>
            {timeAgo(lastSeen, now)}
          </time>
        </span>
      ) : (
        <span>{online ? "Online" : "Offline"}</span>
      )}
    </span>
  );
}
