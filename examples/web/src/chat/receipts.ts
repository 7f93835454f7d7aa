import type { TimelineItem } from "../realtime";

/** Who has read up to each of my messages: each reader at the latest of mine they reached. */
export function readersByMessage(items: TimelineItem[], myId: number, markers: Map<number, number>, names: Map<number, string>) {
  const mine = items.filter((i) => i.status === "sent" && i.message.sender.id === myId && !i.message.deleted);
  const result = new Map<number, string[]>();
  for (const [userId, seq] of markers) {
    if (userId === myId) continue;
    let latest: TimelineItem | undefined;
    for (const item of mine) if (item.message.seq <= seq) latest = item;
    if (!latest) continue;
    const list = result.get(latest.message.id) ?? [];
    list.push(names.get(userId) ?? `user ${userId}`);
    result.set(latest.message.id, list);
  }
  return result;
}
