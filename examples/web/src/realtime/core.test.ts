import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { FIRST_INDEX, WS_FAILURES_BEFORE_SSE } from "./core";
import type { S } from "../api/client";
import { BOB, ME, created, message, settle, setup, summary } from "./testing";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Started, connected and viewing room 1 (whose latest page is empty). */
async function connected(rooms: [number, number][] = [[1, 5]], feedSeq = 0) {
  const t = setup();
  t.core.start(ME);
  await settle();
  t.server.last.ready(rooms, feedSeq);
  t.core.view(1);
  await settle();
  return t;
}

function bodies(t: ReturnType<typeof setup>, roomId = 1): string[] {
  return t.core.getTimeline(roomId).items.map((i) => i.message.body);
}

/** Waits for the next attempt of the backoff: a new socket is open (not ready yet). */
async function untilRetry(t: ReturnType<typeof setup>) {
  const before = t.server.sockets.length;
  await settle();
  const { state, retryAt } = t.core.getConnection();
  expect(state).toBe("offline");
  await settle((retryAt ?? 0) - Date.now());
  expect(t.server.sockets.length).toBe(before + 1);
  return t.server.last;
}

/** Drops the connection and waits for the next attempt. */
async function reconnect(t: ReturnType<typeof setup>) {
  t.server.last.close();
  return untilRetry(t);
}

describe("resume (§7.4)", () => {
  it("asks for exactly the stored positions and applies the replay without duplicates", async () => {
    const t = await connected([[1, 5], [2, 3], [3, 7]], 4);
    const a = message(10, 1, 6, "A");
    t.server.last.receive(created(a));
    expect(bodies(t)).toEqual(["A"]);

    const socket = await reconnect(t);
    socket.ready([[1, 9], [2, 3], [3, 8]], 6);
    // room 2 is where it was; room 1 and 3 and the feed moved while away
    expect(socket.commands("resume")).toEqual([
      { type: "resume", id: expect.any(String) as string, rooms: [{ room_id: 1, seq: 6 }, { room_id: 3, seq: 7 }], feed_after: 4 },
    ]);

    // A live event published after `ready` overtakes the replay: dropped, the replay has it.
    socket.receive(created(message(13, 1, 10, "D")));
    socket.receive(created(a)); // replayed again, seq 6: already applied
    socket.receive(created(message(11, 1, 7, "B")));
    socket.receive({ type: "message.edited", room_id: 1, seq: 8, message: { ...a, body: "A edited", edited_at: 2 } });
    socket.receive(created(message(12, 1, 9, "C")));
    socket.receive({ type: "resumed", id: socket.lastId("resume"), rooms: [{ room_id: 1, seq: 9 }, { room_id: 3, seq: 8 }], feed_seq: 6 });
    socket.receive(created(message(12, 1, 9, "C"))); // a duplicate from pub/sub
    socket.receive(created(message(13, 1, 10, "D"))); // live again, now in turn
    await settle();

    expect(bodies(t)).toEqual(["A edited", "B", "C", "D"]);
    expect(t.core.positions.get(1)).toBe(10);
    expect(t.api.changes).not.toHaveBeenCalled();
  });

  it("over SSE the replay may follow `resumed`; one that never comes is read over REST", async () => {
    const t = await connected([[1, 5], [2, 5]]);
    const socket = await reconnect(t);
    socket.ready([[1, 7], [2, 7]]);
    socket.receive({ type: "resumed", id: socket.lastId("resume"), rooms: [{ room_id: 1, seq: 7 }, { room_id: 2, seq: 7 }], feed_seq: 0 });
    socket.receive(created(message(8, 1, 8, "live, overtaking the replay"))); // dropped: the replay is not complete
    socket.receive(created(message(6, 1, 6, "six")));
    socket.receive(created(message(7, 1, 7, "seven")));
    socket.receive(created(message(8, 1, 8, "eight")));
    expect(bodies(t)).toEqual(["six", "seven", "eight"]);
    expect(t.api.changes).not.toHaveBeenCalled();

    // room 2's replay never arrives: after a grace period its changes are read over REST
    t.api.changes.mockResolvedValueOnce({ events: [created(message(20, 2, 6, "a")), created(message(21, 2, 7, "b"))], has_more: false, last_seq: 7 });
    await settle(10_000);
    expect(t.api.changes).toHaveBeenCalledWith(2, 5);
    expect(t.core.positions.get(2)).toBe(7);
  });

  it("sends no resume when nothing moved, and drops rooms left while away", async () => {
    const t = await connected([[1, 5], [2, 3]]);
    const socket = await reconnect(t);
    socket.ready([[1, 5]]);
    expect(socket.commands("resume")).toEqual([]);
    expect([...t.core.positions]).toEqual([[1, 5]]);
  });

  it("too_far_behind reloads that room and resumes the others", async () => {
    const t = await connected([[1, 5], [2, 3]]);
    t.server.last.receive(created(message(10, 1, 6, "old copy")));
    const socket = await reconnect(t);
    t.api.messages.mockClear();
    t.api.messages.mockResolvedValueOnce({ items: [message(50, 1, 20_000, "latest")], next: 19_999 });
    socket.ready([[1, 20_000], [2, 9]]);
    const first = socket.lastId("resume");
    socket.receive({ type: "error", id: first, code: "too_far_behind", message: "reload", field: "rooms", room_id: 1 });
    await settle();

    const resumes = socket.commands("resume");
    expect(resumes).toHaveLength(2);
    expect(resumes[1]?.rooms).toEqual([{ room_id: 2, seq: 3 }]);
    expect(t.core.positions.get(1)).toBe(20_000);
    expect(t.api.messages).toHaveBeenCalledWith(1, { limit: 50 });
    expect(bodies(t)).toEqual(["latest"]);
    expect(t.core.getTimeline(1).firstItemIndex).toBe(FIRST_INDEX);

    // room 1 continues live from ready's position
    socket.receive(created(message(51, 1, 20_001, "next")));
    expect(bodies(t)).toEqual(["latest", "next"]);
  });
});

describe("live events (§7.3)", () => {
  it("drops events at or below the position and applies each change once", async () => {
    const t = await connected([[1, 5]]);
    const seen = vi.fn();
    t.core.onEvent(seen);
    t.server.last.receive(created(message(9, 1, 5, "already seen")));
    t.server.last.receive(created(message(10, 1, 6, "new")));
    t.server.last.receive(created(message(10, 1, 6, "new")));
    expect(bodies(t)).toEqual(["new"]);
    expect(seen).toHaveBeenCalledTimes(1);
    expect(t.core.positions.get(1)).toBe(6);
  });

  it("fills a gap over REST before applying what follows it", async () => {
    let release: () => void = () => undefined;
    const t = await connected([[1, 5]]);
    t.api.changes.mockImplementationOnce(
      (_room, _after) =>
        new Promise((resolve) => {
          release = () =>
            resolve({
              events: [created(message(6, 1, 6, "six")), created(message(7, 1, 7, "seven")), created(message(8, 1, 8, "eight"))],
              has_more: false,
              last_seq: 8,
            });
        }),
    );
    t.server.last.receive(created(message(8, 1, 8, "eight")));
    t.server.last.receive(created(message(9, 1, 9, "nine"))); // arrives while the gap is being filled
    expect(t.api.changes).toHaveBeenCalledWith(1, 5);
    expect(bodies(t)).toEqual([]);
    release();
    await settle();
    expect(bodies(t)).toEqual(["six", "seven", "eight", "nine"]);
    expect(t.core.positions.get(1)).toBe(9);
    expect(t.api.changes).toHaveBeenCalledTimes(1);
  });

  it("applies reactions with set semantics and deletes as tombstones", async () => {
    const t = await connected([[1, 5]]);
    const s = t.server.last;
    s.receive(created(message(10, 1, 6, "hi")));
    s.receive({ type: "reaction.added", room_id: 1, seq: 7, message_id: 10, user_id: 2, emoji: "👍" });
    s.receive({ type: "reaction.added", room_id: 1, seq: 8, message_id: 10, user_id: 2, emoji: "👍" });
    expect(t.core.getTimeline(1).items[0]?.message.reactions).toEqual([{ emoji: "👍", users: [2] }]);
    s.receive({ type: "reaction.removed", room_id: 1, seq: 9, message_id: 10, user_id: 2, emoji: "👍" });
    s.receive({ type: "message.deleted", room_id: 1, seq: 10, message_id: 10, by: 2 });
    const m = t.core.getTimeline(1).items[0]?.message;
    expect(m?.reactions).toEqual([]);
    expect(m?.deleted).toBe(true);
    expect(m?.body).toBe("");
  });

  it("bumps unread for rooms not being viewed only", async () => {
    const t = setup({ rooms: vi.fn(() => Promise.resolve([summary(1, 5), summary(2, 5)])) });
    t.core.start(ME);
    await settle();
    t.server.last.ready([[1, 5], [2, 5]]);
    await settle();
    t.core.view(1);
    await settle();
    t.server.last.receive(created(message(10, 1, 6, "in the open room")));
    t.server.last.receive(created(message(11, 2, 6, "elsewhere")));
    t.server.last.receive(created(message(12, 2, 7, "mine", { id: ME.id, username: ME.username, display_name: "" })));
    expect(t.core.getRoom(1)?.summary.unread).toBe(0);
    expect(t.core.getRoom(2)?.summary.unread).toBe(1);
    expect(t.core.getRooms()[0]?.summary.room.id).toBe(2);
    await settle(1_000);
    // the open room's watermark moved forward over the connection
    expect(t.server.last.commands("read")).toEqual([{ type: "read", id: expect.any(String) as string, room_id: 1, seq: 6 }]);
  });

  it("counts live notifications, not replayed ones (the count read at connection time has them)", async () => {
    const t = setup({ unreadNotifications: vi.fn(() => Promise.resolve(3)) });
    t.core.start(ME);
    await settle();
    t.server.last.ready([[1, 5]], 2);
    await settle();
    expect(t.core.getUnreadNotifications()).toBe(3);
    const notification = (feedSeq: number): S["Event"] => ({
      type: "notification",
      notification: { id: feedSeq, feed_seq: feedSeq, kind: "mention", room_id: 1, message_id: 1, actor: BOB, detail: null, created_at: 0, read: false },
    });
    t.server.last.receive(notification(3));
    t.server.last.receive(notification(3));
    expect(t.core.getUnreadNotifications()).toBe(4);

    const socket = await reconnect(t);
    socket.ready([[1, 5]], 5);
    expect(socket.commands("resume")).toEqual([{ type: "resume", id: expect.any(String) as string, rooms: [], feed_after: 3 }]);
    await settle();
    expect(t.core.getUnreadNotifications()).toBe(3); // read again at connection time
    socket.receive(notification(4));
    socket.receive(notification(5));
    socket.receive({ type: "resumed", id: socket.lastId("resume"), rooms: [], feed_seq: 5 });
    expect(t.core.getUnreadNotifications()).toBe(3);
    expect(t.core.feedSeq).toBe(5);
    socket.receive({ type: "notifications.read", ids: [], all: true, unread: 0 });
    expect(t.core.getUnreadNotifications()).toBe(0);
  });

  it("keeps members and their read watermarks live", async () => {
    const carol = { id: 3, username: "carol", display_name: "" };
    const t = setup({
      rooms: vi.fn(() => Promise.resolve([summary(1, 5)])),
      members: vi.fn(() => Promise.resolve<S["Member"][]>([{ user: BOB, role: "owner", joined_at: 0, last_read_seq: 4 }])),
    });
    t.core.start(ME);
    await settle();
    t.server.last.ready([[1, 5]]);
    t.core.ensureMembers(1);
    await settle();
    const s = t.server.last;
    s.receive({ type: "member.joined", room_id: 1, seq: 6, user: carol, role: "member", by: null });
    s.receive({ type: "member.joined", room_id: 1, seq: 6, user: carol, role: "member", by: null }); // duplicate
    s.receive({ type: "member.role", room_id: 1, seq: 7, user_id: 3, role: "admin" });
    s.receive({ type: "read", room_id: 1, user_id: 2, seq: 7 });
    s.receive({ type: "read", room_id: 1, user_id: 2, seq: 6 }); // never moves back
    expect(t.core.getMembers(1).map((m) => [m.user.id, m.role, m.last_read_seq])).toEqual([
      [2, "owner", 7],
      [3, "admin", 0],
    ]);
    expect(t.core.getRoom(1)?.summary.room.member_count).toBe(3);
    s.receive({ type: "member.left", room_id: 1, seq: 8, user_id: 3, reason: "left", by: null });
    expect(t.core.getMembers(1).map((m) => m.user.id)).toEqual([2]);
    expect(t.core.getRoom(1)?.summary.room.member_count).toBe(2);
  });

  it("sends typing at most every 2.5 s while active, and again at once after a send ended it", async () => {
    const t = await connected([[1, 5]]);
    const s = t.server.last;
    t.core.sendTyping(1, true);
    t.core.sendTyping(1, true);
    expect(s.commands("typing")).toHaveLength(1);
    await settle(2_500);
    t.core.sendTyping(1, true);
    expect(s.commands("typing")).toHaveLength(2);
    t.core.sendMessage(1, { body: "done" });
    t.core.sendTyping(1, true);
    expect(s.commands("typing").map((c) => c.active)).toEqual([true, true, true]);
    t.core.sendTyping(1, false);
    t.core.sendTyping(1, false);
    expect(s.commands("typing").map((c) => c.active)).toEqual([true, true, true, false]);
  });

  it("expires typing after the protocol's timeout", async () => {
    const t = await connected([[1, 5]]);
    t.server.last.receive({ type: "typing", room_id: 1, user_id: 2, active: true, expires_in_ms: 6_000 });
    expect(t.core.getTyping(1).map((u) => u.id)).toEqual([2]);
    await settle(5_999);
    expect(t.core.getTyping(1)).toHaveLength(1);
    await settle(1);
    expect(t.core.getTyping(1)).toEqual([]);
  });
});

describe("outbox (§8)", () => {
  it("keeps a message typed offline and sends it once, with the same client id, after reconnecting", async () => {
    const t = await connected([[1, 5]]);
    t.server.last.close();
    await settle();
    expect(t.core.getConnection().state).toBe("offline");

    const clientId = t.core.sendMessage(1, { body: "typed offline" });
    expect(t.core.getTimeline(1).items).toEqual([expect.objectContaining({ key: `c${clientId}`, status: "pending" })]);

    const socket = await untilRetry(t);
    expect(socket.commands("send")).toEqual([]); // nothing before `ready`
    socket.ready([[1, 5]]);
    const sends = socket.commands("send");
    expect(sends).toEqual([expect.objectContaining({ room_id: 1, client_id: clientId, body: "typed offline" })]);

    // The connection drops before the ack: the next one sends it again, same client id.
    const again = await reconnect(t);
    again.ready([[1, 6]]);
    const stored = message(20, 1, 6, "typed offline", BOB, clientId);
    stored.sender = { id: ME.id, username: ME.username, display_name: "" };
    // the first attempt was committed: the replay brings it, then the retry's ack
    again.receive(created(stored));
    const later = t.core.sendMessage(1, { body: "typed while resuming" });
    expect(again.commands("send")).toEqual([]); // sends wait for `resumed`
    again.receive({ type: "resumed", id: again.lastId("resume"), rooms: [{ room_id: 1, seq: 6 }], feed_seq: 0 });
    await settle();
    expect(t.core.getTimeline(1).items.map((i) => [i.key, i.status])).toEqual([
      ["m20", "sent"],
      [`c${later}`, "pending"],
    ]);
    // confirmed by the replay: not sent again; the later one goes now
    expect(again.commands("send").map((s) => s.client_id)).toEqual([later]);
  });

  it("matches the ack and the echo to one message", async () => {
    const t = await connected([[1, 5]]);
    const clientId = t.core.sendMessage(1, { body: "hello" });
    const second = t.core.sendMessage(1, { body: "again" });
    const socket = t.server.last;
    // each sent once, in order, although the second send flushed the outbox again
    expect(socket.commands("send").map((s) => s.client_id)).toEqual([clientId, second]);
    const stored = { ...message(20, 1, 6, "hello", BOB, clientId), sender: { id: ME.id, username: ME.username, display_name: "" } };
    socket.receive({ type: "ack", id: socket.lastId("send"), message: stored });
    socket.receive(created(stored));
    await settle();
    expect(t.core.getTimeline(1).items.map((i) => i.key)).toEqual(["m20", `c${second}`]);
  });

  it("marks a send refused on its merits as failed; retry resends the same client id, discard drops it", async () => {
    const t = await connected([[1, 5]]);
    const clientId = t.core.sendMessage(1, { body: "x".repeat(5000) });
    const socket = t.server.last;
    socket.receive({ type: "error", id: socket.lastId("send"), code: "too_long", message: "body: use at most 4000 characters", field: "body" });
    await settle();
    expect(t.core.getTimeline(1).items).toEqual([
      expect.objectContaining({ status: "failed", error: "body: use at most 4000 characters" }),
    ]);

    // not sent again by itself, not even after a reconnection
    const next = await reconnect(t);
    next.ready([[1, 5]]);
    expect(next.commands("send")).toEqual([]);

    t.core.retry(clientId);
    expect(next.commands("send").map((s) => s.client_id)).toEqual([clientId]);
    next.receive({ type: "error", id: next.lastId("send"), code: "too_long", message: "too long" });
    await settle();
    t.core.discard(clientId);
    expect(t.core.getTimeline(1).items).toEqual([]);
  });

  it("waits and resends after rate_limited", async () => {
    const t = await connected([[1, 5]]);
    const clientId = t.core.sendMessage(1, { body: "hi" });
    const socket = t.server.last;
    socket.receive({ type: "error", id: socket.lastId("send"), code: "rate_limited", message: "slow down", retry_after_ms: 500 });
    await settle(499);
    expect(socket.commands("send")).toHaveLength(1);
    await settle(1);
    expect(socket.commands("send").map((s) => s.client_id)).toEqual([clientId, clientId]);
    expect(t.core.getTimeline(1).items[0]?.status).toBe("pending");
  });

  it("survives a reload of the tab through storage", async () => {
    const t = await connected([[1, 5]]);
    t.server.last.close();
    const clientId = t.core.sendMessage(1, { body: "keep me" });
    const storage = t.env.storage;
    t.core.stop();

    const { RealtimeCore } = await import("./core");
    const again = new RealtimeCore(t.api, t.server.open, t.env);
    again.start(ME);
    await settle();
    expect(storage?.getItem(`jeco-outbox:${ME.id}`)).toContain(clientId);
    t.server.last.ready([[1, 5]]);
    expect(t.server.last.commands("send").map((s) => s.client_id)).toEqual([clientId]);
  });
});

describe("connection", () => {
  it("backs off exponentially and falls back to SSE when the WebSocket cannot open", async () => {
    const t = setup();
    t.core.start(ME);
    await settle();
    for (let i = 0; i < WS_FAILURES_BEFORE_SSE; i++) {
      expect(t.server.last.kind).toBe("websocket");
      t.server.last.close(); // refused before `ready`
      await settle();
      const { retryAt } = t.core.getConnection();
      // 0.5 s doubling, with jitter between half and all of it (random() is 0.5 here)
      expect((retryAt ?? 0) - Date.now()).toBe(0.75 * 500 * 2 ** i);
      await untilRetry(t);
    }
    expect(t.server.last.kind).toBe("sse");
    expect(t.api.ticket).toHaveBeenCalledTimes(WS_FAILURES_BEFORE_SSE + 1);
    t.server.last.ready([[1, 5]]);
    expect(t.core.getConnection()).toEqual({ state: "online", transport: "sse" });
    // a dropped SSE stream comes back over SSE
    expect((await reconnect(t)).kind).toBe("sse");
    // SSE failing as well: the WebSocket gets its chances again
    expect((await reconnect(t)).kind).toBe("websocket");
  });

  it("pings after a silent heartbeat interval and reconnects when nothing answers", async () => {
    const t = await connected([[1, 5]]);
    const socket = t.server.last;
    await settle(19_000);
    expect(socket.commands("ping")).toEqual([]);
    await settle(1_000);
    expect(socket.commands("ping")).toHaveLength(1);
    await settle(20_000);
    expect(socket.closed).toBe(true);
    expect(t.core.getConnection().state).toBe("offline");
  });

  it("opens one connection however often it is asked to retry", async () => {
    const t = setup();
    t.core.start(ME);
    t.core.retryNow();
    t.core.retryNow();
    await settle();
    expect(t.server.sockets).toHaveLength(1);
    expect(t.api.ticket).toHaveBeenCalledTimes(1);
  });

  it("signing out and in again at once connects the new session and drops the old one's answers", async () => {
    let answerRooms: (list: ReturnType<typeof summary>[]) => void = () => undefined;
    const t = setup({ rooms: vi.fn(() => new Promise<ReturnType<typeof summary>[]>((resolve) => (answerRooms = resolve))) });
    t.core.start(ME);
    const stale = answerRooms;
    t.core.stop();
    const bob = { ...ME, id: BOB.id, username: BOB.username };
    t.core.start(bob);
    stale([summary(1, 5)]); // alice's room list arrives after she signed out
    await settle();
    expect(t.core.getRoom(1)).toBeUndefined();
    expect(t.server.sockets).toHaveLength(1);
    expect(t.api.ticket).toHaveBeenCalledTimes(2);
  });

  it("a signed_out event signs out", async () => {
    const t = await connected([[1, 5]]);
    t.server.last.receive({ type: "signed_out", reason: "password_changed" });
    expect(t.signedOut).toHaveBeenCalledWith("password_changed");
  });
});

describe("timeline", () => {
  it("loads older pages and moves firstItemIndex back by what was prepended", async () => {
    const t = setup();
    t.api.messages.mockResolvedValueOnce({ items: [message(3, 1, 5, "c"), message(2, 1, 4, "b")], next: 4 });
    t.core.start(ME);
    await settle();
    t.core.view(1);
    await settle();
    expect(bodies(t)).toEqual(["b", "c"]);
    t.api.messages.mockResolvedValueOnce({ items: [message(1, 1, 3, "a")], next: null });
    await t.core.getTimeline(1).loadOlder();
    expect(t.api.messages).toHaveBeenLastCalledWith(1, { before: 4, limit: 50 });
    const timeline = t.core.getTimeline(1);
    expect(timeline.items.map((i) => i.message.body)).toEqual(["a", "b", "c"]);
    expect(timeline.firstItemIndex).toBe(FIRST_INDEX - 1);
    expect(timeline.hasOlder).toBe(false);
  });
});
