// How people and times read on screen.

/** The name to show for a person: their display name, else their username. */
export function displayName(user: { display_name: string; username: string }): string {
  return user.display_name.trim() || user.username;
}

/** One or two letters standing for a person when they have no avatar. */
export function initials(user: { display_name: string; username: string }): string {
  const words = displayName(user).split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : [words[0] ?? "?"];
  return letters.map((w) => Array.from(w ?? "?")[0] ?? "?").join("").toUpperCase();
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "just now", "5 min ago", "3 h ago", "2 days ago", or the date for older times. */
export function timeAgo(at: number, now: number): string {
  const elapsed = Math.max(0, now - at);
  if (elapsed < MINUTE) return "just now";
  if (elapsed < HOUR) return `${Math.floor(elapsed / MINUTE)} min ago`;
  if (elapsed < DAY) return `${Math.floor(elapsed / HOUR)} h ago`;
  const days = Math.floor(elapsed / DAY);
  if (days < 7) return days === 1 ? "yesterday" : `${days} days ago`;
  return new Date(at).toLocaleDateString();
}

/** The full local date and time, for a tooltip. */
export function fullTime(at: number): string {
  return new Date(at).toLocaleString();
}
