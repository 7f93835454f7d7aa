import { describe, expect, it } from "vitest";
import type { TimelineItem } from "../realtime";
import { readersByMessage } from "./receipts";

function item(id: number, seq: number, sender: number, status: TimelineItem["status"] = "sent"): TimelineItem {
  return {
    key: `m${id}`,
    status,
    message: {
      id,
      room_id: 1,
      seq,
      sender: { id: sender, username: `u${sender}`, display_name: "" },
      client_id: `c${id}`,
      body: "x",
      reply_to: null,
      forwarded_from: null,
      attachments: [],
      mentions: [],
      reactions: [],
      created_at: 0,
      edited_at: null,
      deleted: false,
    },
  };
}

describe("readersByMessage", () => {
  const names = new Map([
    [2, "bob"],
    [3, "carol"],
  ]);
  const items = [item(10, 3, 1), item(11, 4, 2), item(12, 6, 1), item(0, 0, 1, "pending")];

  it("puts each reader at the latest of my messages they have read", () => {
    const readers = readersByMessage(items, 1, new Map([[1, 6], [2, 6], [3, 4]]), names);
    expect(readers.get(12)).toEqual(["bob"]);
    expect(readers.get(10)).toEqual(["carol"]);
  });

  it("leaves out those who have read none of mine, and me", () => {
    const readers = readersByMessage(items, 1, new Map([[1, 6], [2, 2]]), names);
    expect(readers.size).toBe(0);
  });
});
