// What the real-time core needs from the outside world, as interfaces: the transport (a
// WebSocket or an SSE stream in the browser, a fake in the tests), the REST calls and the
// environment (clock, timers, storage, visibility).
import type { S } from "../api/client";

export type ClientFrame = S["ClientFrame"];
/** A command as the core hands it over, before it gets its `id`. */
export type Command = ClientFrame extends infer F ? (F extends { id: string } ? Omit<F, "id"> : never) : never;
export type ServerFrame = S["ServerFrame"];
export type LiveEvent = S["Event"];
/** Anything the server sends: a protocol frame or an event (possibly of a type unknown here). */
export type Incoming = ServerFrame | LiveEvent;
export type Reply = Extract<ServerFrame, { type: "ack" | "error" | "pong" | "resumed" }>;

export type TransportKind = "websocket" | "sse";

export interface TransportHandlers {
  /** One frame from the server (over SSE, command replies come this way too). */
  onFrame(frame: Incoming): void;
  /** The connection is gone (called once, also after `close()`). */
  onClose(): void;
}

export interface Transport {
  send(frame: ClientFrame): void;
  close(): void;
}

export type OpenTransport = (kind: TransportKind, ticket: string, handlers: TransportHandlers) => Transport;

/** The REST calls the core makes (`rest.ts` implements them with the typed client). */
export interface RealtimeApi {
  ticket(): Promise<string>;
  rooms(): Promise<S["RoomSummary"][]>;
  unread(): Promise<S["UnreadSummary"]>;
  messages(roomId: number, query: { before?: number; limit: number }): Promise<S["MessagePage"]>;
  changes(roomId: number, after: number): Promise<S["Changes"]>;
  feed(after: number): Promise<S["Feed"]>;
  members(roomId: number): Promise<S["Member"][]>;
  presence(ids: number[]): Promise<S["PresenceInfo"][]>;
  unreadNotifications(): Promise<number>;
  markRead(roomId: number, seq: number): Promise<void>;
  edit(messageId: number, body: string): Promise<S["Message"]>;
  remove(messageId: number): Promise<void>;
  react(messageId: number, emoji: string): Promise<boolean>;
}

export interface Env {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  random(): number;
  /** A fresh idempotency key (1 to 64 of `A-Z a-z 0-9 - _ . :`). */
  clientId(): string;
  /** Where the outbox survives a reload of the tab (sessionStorage), or null. */
  storage: Pick<Storage, "getItem" | "setItem" | "removeItem"> | null;
  /** Whether the tab is visible (read markers only move while it is). */
  visible(): boolean;
  /** Whether the browser can open a WebSocket at all. */
  websocketSupported: boolean;
}

export interface ConnectionState {
  state: "connecting" | "online" | "reconnecting" | "offline";
  transport: TransportKind | null;
  /** While offline: when the next attempt starts (ms since the epoch). */
  retryAt?: number;
}
