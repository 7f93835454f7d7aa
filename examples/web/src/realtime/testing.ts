// Test doubles for the real-time core: an in-memory transport standing in for the browser's
// WebSocket/EventSource, a REST API answering from the test's script, and the environment.
import { vi } from "vitest";
import type { S } from "../api/client";
import { RealtimeCore } from "./core";
import type { ClientFrame, Env, Incoming, OpenTransport, RealtimeApi, Transport, TransportHandlers, TransportKind } from "./types";

export class FakeSocket implements Transport {
  readonly sent: ClientFrame[] = [];
  closed = false;

  constructor(
    readonly kind: TransportKind,
    readonly ticket: string,
    private readonly handlers: TransportHandlers,
  ) {}

  send(frame: ClientFrame): void {
    if (!this.closed) this.sent.push(frame);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers.onClose();
  }

  /** The server sends a frame. */
  receive(frame: Incoming): void {
    if (!this.closed) this.handlers.onFrame(frame);
  }

  /** Commands of a type sent so far. */
  commands<T extends ClientFrame["type"]>(type: T): Extract<ClientFrame, { type: T }>[] {
    return this.sent.filter((f): f is Extract<ClientFrame, { type: T }> => f.type === type);
  }

  /** The id of the last command of a type. */
  lastId(type: ClientFrame["type"]): string {
    const frames = this.sent.filter((f) => f.type === type);
    const last = frames[frames.length - 1];
    if (!last || !("id" in last)) throw new Error(`no ${type} command sent`);
    return last.id;
  }

  ready(rooms: [number, number][], feedSeq = 0): void {
    this.receive({
      type: "ready",
      protocol: 1,
      user_id: ME.id,
      session_id: "s",
      heartbeat_ms: 20_000,
      rooms: rooms.map(([room_id, seq]) => ({ room_id, seq })),
      feed_seq: feedSeq,
    });
  }
}

export class FakeServer {
  readonly sockets: FakeSocket[] = [];
  tickets = 0;

  open: OpenTransport = (kind, ticket, handlers) => {
    const socket = new FakeSocket(kind, ticket, handlers);
    this.sockets.push(socket);
    return socket;
  };

  get last(): FakeSocket {
    const socket = this.sockets[this.sockets.length - 1];
    if (!socket) throw new Error("no connection opened");
    return socket;
  }
}

export const ME: S["Account"] = { id: 1, username: "alice", display_name: "", avatar: null, bio: "", created_at: 0, email: "a@example.test" };
export const BOB: S["UserRef"] = { id: 2, username: "bob", display_name: "" };

export function message(id: number, roomId: number, seq: number, body: string, sender: S["UserRef"] = BOB, clientId = `k${id}`): S["Message"] {
  return {
    id,
    room_id: roomId,
    seq,
    sender,
    client_id: clientId,
    body,
    reply_to: null,
    forwarded_from: null,
    attachments: [],
    mentions: [],
    reactions: [],
    created_at: 1_000 + seq,
    edited_at: null,
    deleted: false,
  };
}

export function created(m: S["Message"]): S["Event"] {
  return { type: "message.created", room_id: m.room_id, seq: m.seq, message: m };
}

export function summary(roomId: number, lastSeq: number, lastRead = lastSeq): S["RoomSummary"] {
  return {
    room: { id: roomId, kind: "public", name: `room${roomId}`, topic: "", created_by: null, created_at: 0, last_seq: lastSeq, member_count: 2 },
    role: "member",
    last_read_seq: lastRead,
    unread: 0,
    peer: null,
  };
}

export function fakeApi(overrides: Partial<RealtimeApi> = {}) {
  let tickets = 0;
  const api = {
    ticket: vi.fn(() => Promise.resolve(`ticket${++tickets}`)),
    rooms: vi.fn(() => Promise.resolve<S["RoomSummary"][]>([])),
    unread: vi.fn(() => Promise.resolve<S["UnreadSummary"]>({ notifications: 0, rooms: [] })),
    messages: vi.fn((_roomId: number, _query: { before?: number; limit: number }) => Promise.resolve<S["MessagePage"]>({ items: [], next: null })),
    changes: vi.fn((_roomId: number, _after: number) => Promise.resolve<S["Changes"]>({ events: [], has_more: false, last_seq: 0 })),
    feed: vi.fn((_after: number) => Promise.resolve<S["Feed"]>({ events: [], feed_seq: 0, has_more: false })),
    members: vi.fn((_roomId: number) => Promise.resolve<S["Member"][]>([])),
    presence: vi.fn((_ids: number[]) => Promise.resolve<S["PresenceInfo"][]>([])),
    unreadNotifications: vi.fn(() => Promise.resolve(0)),
    markRead: vi.fn((_roomId: number, _seq: number) => Promise.resolve()),
    edit: vi.fn((_id: number, _body: string) => Promise.reject<S["Message"]>(new Error("not scripted"))),
    remove: vi.fn((_id: number) => Promise.resolve()),
    react: vi.fn((_id: number, _emoji: string) => Promise.resolve(true)),
  };
  Object.assign(api, overrides);
  return api;
}

/** Uses vitest's fake timers (`vi.useFakeTimers()` in the test) for the clock. */
export function fakeEnv(overrides: Partial<Env> = {}): Env {
  let ids = 0;
  const storage = new Map<string, string>();
  return {
    now: () => Date.now(),
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    random: () => 0.5,
    clientId: () => `w-test${++ids}`,
    storage: {
      getItem: (k) => storage.get(k) ?? null,
      setItem: (k, v) => void storage.set(k, v),
      removeItem: (k) => void storage.delete(k),
    },
    visible: () => true,
    websocketSupported: true,
    ...overrides,
  };
}

export function setup(apiOverrides: Partial<RealtimeApi> = {}, envOverrides: Partial<Env> = {}) {
  const server = new FakeServer();
  const api = fakeApi(apiOverrides);
  const env = fakeEnv(envOverrides);
  const signedOut = vi.fn();
  const core = new RealtimeCore(api, server.open, env, signedOut);
  return { server, api, env, core, signedOut };
}

/** Lets pending promises and due timers run. */
export async function settle(ms = 0): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}
