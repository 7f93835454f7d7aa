// The browser side of the real-time core: WebSocket and SSE transports, the REST calls, the
// environment. Nothing here holds state of its own.
import { api, toApiError, unwrap } from "../api/client";
import type { ClientFrame, Env, Incoming, OpenTransport, RealtimeApi, TransportHandlers } from "./types";

function parse(data: unknown): Incoming | null {
  if (typeof data !== "string") return null;
  try {
    const frame = JSON.parse(data) as unknown;
    return frame && typeof frame === "object" && typeof (frame as { type?: unknown }).type === "string" ? (frame as Incoming) : null;
  } catch {
    return null;
  }
}

function endpoint(path: string, ticket: string, scheme?: "ws"): string {
  const base = new URL(path, window.location.href);
  if (scheme) base.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
  base.searchParams.set("ticket", ticket);
  return base.toString();
}

function openWebSocket(ticket: string, handlers: TransportHandlers) {
  const ws = new WebSocket(endpoint("/v1/ws", ticket, "ws"));
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    ws.onmessage = ws.onclose = ws.onerror = null;
    ws.close();
    handlers.onClose();
  };
  ws.onmessage = (event) => {
    const frame = parse(event.data);
    if (frame) handlers.onFrame(frame);
  };
  ws.onclose = close;
  ws.onerror = close;
  return {
    send(frame: ClientFrame) {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
    },
    close,
  };
}

/** Server-Sent Events down, commands POSTed one at a time (their order matters: §12.2). */
function openSse(ticket: string, handlers: TransportHandlers) {
  const source = new EventSource(endpoint("/v1/sse", ticket));
  let sessionId: string | null = null;
  let closed = false;
  let queue = Promise.resolve();
  const close = () => {
    if (closed) return;
    closed = true;
    source.onmessage = source.onerror = null;
    source.close();
    handlers.onClose();
  };
  source.onmessage = (event: MessageEvent) => {
    const frame = parse(event.data);
    if (!frame) return;
    if (frame.type === "ready") sessionId = frame.session_id;
    handlers.onFrame(frame);
    if (frame.type === "closing") close();
  };
  // Never EventSource's own reconnection: it would reuse the spent ticket and not resume.
  source.onerror = close;
  const post = async (frame: ClientFrame) => {
    if (closed || !sessionId) return;
    let answer;
    try {
      answer = await api.POST("/v1/sse/{session_id}/commands", { params: { path: { session_id: sessionId } }, body: frame });
    } catch {
      close();
      return;
    }
    if (closed) return;
    if (answer.data) {
      handlers.onFrame(answer.data);
      return;
    }
    const error = toApiError(answer.error, answer.response);
    if (error.code === "session_not_found" || !("id" in frame)) {
      close();
      return;
    }
    handlers.onFrame({ type: "error", id: frame.id, code: error.code as never, message: error.message });
  };
  return {
    send(frame: ClientFrame) {
      queue = queue.then(() => post(frame));
    },
    close,
  };
}

export const openTransport: OpenTransport = (kind, ticket, handlers) =>
  kind === "websocket" ? openWebSocket(ticket, handlers) : openSse(ticket, handlers);

export const restApi: RealtimeApi = {
  ticket: async () => (await unwrap(api.POST("/v1/tickets"))).ticket,
  rooms: () => unwrap(api.GET("/v1/rooms")),
  unread: () => unwrap(api.GET("/v1/unread")),
  messages: (roomId, query) => unwrap(api.GET("/v1/rooms/{room_id}/messages", { params: { path: { room_id: roomId }, query } })),
  changes: (roomId, after) =>
    unwrap(api.GET("/v1/rooms/{room_id}/changes", { params: { path: { room_id: roomId }, query: { after } } })),
  feed: (after) => unwrap(api.GET("/v1/feed", { params: { query: { after } } })),
  members: (roomId) => unwrap(api.GET("/v1/rooms/{room_id}/members", { params: { path: { room_id: roomId } } })),
  presence: (ids) => unwrap(api.GET("/v1/users/presence", { params: { query: { ids: ids.join(",") } } })),
  unreadNotifications: async () => (await unwrap(api.GET("/v1/notifications/unread-count"))).count,
  markRead: async (roomId, seq) => {
    await unwrap(api.PUT("/v1/rooms/{room_id}/read", { params: { path: { room_id: roomId } }, body: { seq } }));
  },
  edit: (messageId, body) =>
    unwrap(api.PATCH("/v1/messages/{message_id}", { params: { path: { message_id: messageId } }, body: { body } })),
  remove: async (messageId) => {
    await unwrap(api.DELETE("/v1/messages/{message_id}", { params: { path: { message_id: messageId } } }));
  },
  react: async (messageId, emoji) =>
    (await unwrap(api.POST("/v1/messages/{message_id}/reactions", { params: { path: { message_id: messageId } }, body: { emoji } }))).added,
};

/** 128 random bits in base64url: within the `client_id` alphabet (§4 `send`). */
function clientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "w-" + btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function sessionStore(): Env["storage"] {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

export function browserEnv(): Env {
  return {
    now: () => Date.now(),
    setTimeout: (fn, ms) => window.setTimeout(fn, ms),
    clearTimeout: (handle) => window.clearTimeout(handle as number | undefined),
    random: () => Math.random(),
    clientId,
    storage: sessionStore(),
    visible: () => document.visibilityState === "visible",
    websocketSupported: typeof WebSocket !== "undefined",
  };
}
