import type { ReactNode } from "react";

const MENTION = /@([A-Za-z0-9_]{3,32})/g;
const URL_PATTERN = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)]/g;

/**
 * A message's text with `@mentions` of members highlighted (more so when they mention me)
 * and web addresses as links.
 */
export function MessageBody({ body, members, me }: { body: string; members: Set<string>; me: string }) {
  const parts: ReactNode[] = [];
  let last = 0;
  const tokens = [...body.matchAll(MENTION), ...body.matchAll(URL_PATTERN)].sort((a, b) => a.index - b.index);
  for (const token of tokens) {
    if (token.index < last) continue;
    parts.push(body.slice(last, token.index));
    const text = token[0];
    if (text.startsWith("@")) {
      const username = (token[1] ?? "").toLowerCase();
      if (members.has(username)) {
        parts.push(
          <span key={token.index} className={`chat-mention${username === me ? " me" : ""}`}>{text}</span>,
        );
      } else {
        parts.push(text);
      }
    } else {
      parts.push(
        <a key={token.index} href={text} target="_blank" rel="noopener noreferrer">{text}</a>,
      );
    }
    last = token.index + text.length;
  }
  parts.push(body.slice(last));
  return <div className="chat-body">{parts}</div>;
}
