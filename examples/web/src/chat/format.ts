// Small formatting helpers shared by the conversation UI.
import type { S } from "../api/client";

/** The name to show for a user: the display name, else the username. */
export function userName(user: Pick<S["UserRef"], "display_name" | "username">): string {
  return user.display_name.trim() || user.username;
}

/** The title of a conversation: the peer for a direct room, `#name` for a group room. */
export function roomTitle(summary: S["RoomSummary"]): string {
  if (summary.room.kind === "direct") return summary.peer ? userName(summary.peer) : "Direct message";
  return summary.room.name ?? `room ${summary.room.id}`;
}

/** Whether a role may moderate: admins and owners. */
export function canModerate(role: S["Role"] | null | undefined): boolean {
  return role === "admin" || role === "owner";
}

const rank: Record<S["Role"], number> = { member: 0, admin: 1, owner: 2 };

/** Whether `a` ranks strictly above `b`. */
export function outranks(a: S["Role"] | null | undefined, b: S["Role"]): boolean {
  return a != null && rank[a] > rank[b];
}

/** A file size for people: "48 KB". */
export function fileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: "long", year: "numeric", month: "long", day: "numeric" });

export function clockTime(ms: number): string {
  return timeFormat.format(ms);
}

export function fullTime(ms: number): string {
  return dateTimeFormat.format(ms);
}

/** A key that is the same for two timestamps of the same local day. */
export function dayKey(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

/** "Today", "Yesterday" or the date. */
export function dayLabel(ms: number, now = Date.now()): string {
  if (dayKey(ms) === dayKey(now)) return "Today";
  if (dayKey(ms) === dayKey(now - 86_400_000)) return "Yesterday";
  return dayFormat.format(ms);
}

/** "online", or when the user was last seen. */
export function presenceText(presence: S["PresenceInfo"] | undefined): string {
  if (!presence) return "Offline";
  if (presence.online) return "Online";
  if (presence.last_seen) return `Last seen ${fullTime(presence.last_seen)}`;
  return "Offline";
}

/** A list of names for people: "bob", "bob and carol", "bob, carol and dan". */
export function nameList(names: string[]): string {
  if (names.length <= 1) return names.join("");
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

/** A fresh idempotency key (`A-Z a-z 0-9 -`). */
export function newClientId(prefix: string): string {
  return `${prefix}-${crypto.randomUUID()}`;
}

/** The text being typed after an `@` right before the caret, if any. */
export function mentionQuery(text: string, caret: number): { start: number; query: string } | null {
  const match = /(^|\s)@([A-Za-z0-9_]{0,32})$/.exec(text.slice(0, caret));
  if (!match) return null;
  return { start: caret - (match[2] ?? "").length - 1, query: (match[2] ?? "").toLowerCase() };
}
