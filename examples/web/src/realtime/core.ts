// The real-time store without React: one connection (WebSocket, or SSE as a fallback) with
// heartbeats and reconnection, gap-free resume (docs/PROTOCOL.md §7), the outbox of idempotent
// sends (§8) and the state the UI shows (rooms, timelines, typing, presence, read markers,
// members, the notification count). Hooks in `hooks.ts` read it through `subscribe`/`version`.
import { ApiError, errorText, type S } from "../api/client";
import type {
  Command,
  ConnectionState,
  Env,
  Incoming,
  LiveEvent,
  OpenTransport,
  RealtimeApi,
  Reply,
  ServerFrame,
  Transport,
  TransportKind,
} from "./types";

export interface RoomEntry {
  summary: S["RoomSummary"];
}

export interface TimelineItem {
  key: string;
  message: S["Message"];
  status: "sent" | "pending" | "failed";
  error?: string;
}

export interface Timeline {
  items: TimelineItem[];
  firstItemIndex: number;
  hasOlder: boolean;
  loadingOlder: boolean;
  loadOlder(): Promise<void>;
  lastReadSeq: number;
  /** The latest page has been loaded (until then an empty list means "not yet"). */
  loaded: boolean;
}

export interface Draft {
  body: string;
  replyTo?: number | null;
  attachments?: number[];
}

export interface OutboxItem {
  clientId: string;
  roomId: number;
  body: string;
  replyTo: number | null;
  attachments: number[];
  status: "pending" | "failed";
  error?: string;
  createdAt: number;
}

type Ready = Extract<ServerFrame, { type: "ready" }>;
type RoomEvent = Extract<LiveEvent, { seq: number; room_id: number }>;
type FeedEvent = Extract<LiveEvent, { type: "notification" | "membership" }>;

export const PAGE = 50;
const NO_MEMBERS: S["Member"][] = [];
export const FIRST_INDEX = 1_000_000;
const READY_TIMEOUT_MS = 10_000;
const STABLE_MS = 30_000;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** WebSocket attempts that fail to open while REST works before trying SSE. */
export const WS_FAILURES_BEFORE_SSE = 3;
const TYPING_RENEW_MS = 2_500;
const READ_BATCH_MS = 300;
/** How long after `resumed` the rest of a replay may take (SSE delivers it separately). */
const RESUME_GRACE_MS = 10_000;

interface TimelineState {
  messages: S["Message"][];
  firstItemIndex: number;
  hasOlder: boolean;
  loadingOlder: boolean;
  loaded: boolean;
  loading: boolean;
  lastReadSeq: number | null;
  snapshot: Timeline | null;
}

interface Connection {
  transport: Transport;
  kind: TransportKind;
  ready: Ready | null;
  pending: Map<string, (reply: Reply | null) => void>;
  lastReceived: number;
  pingSentAt: number | null;
  heartbeat: unknown;
  readyTimer: unknown;
  closingCode: string | null;
}

interface ResumeState {
  /** Rooms named in the pending `resume`: their target once `resumed` said it, else null. */
  rooms: Map<number, number | null>;
  feed: number | null | undefined;
}

function isRoomEvent(e: LiveEvent): e is RoomEvent {
  return (
    e.type === "message.created" ||
    e.type === "message.edited" ||
    e.type === "message.deleted" ||
    e.type === "reaction.added" ||
    e.type === "reaction.removed" ||
    e.type === "member.joined" ||
    e.type === "member.left" ||
    e.type === "member.role"
  );
}

function feedSeqOf(e: FeedEvent): number {
  return e.type === "notification" ? e.notification.feed_seq : e.feed_seq;
}

export class RealtimeCore {
  // --- subscriptions -------------------------------------------------------------------------
  private readonly versions = new Map<string, number>();
  private readonly listeners = new Map<string, Set<() => void>>();
  private readonly eventListeners = new Set<(e: LiveEvent) => void>();

  // --- connection ----------------------------------------------------------------------------
  private me: S["Account"] | null = null;
  private conn: Connection | null = null;
  private generation = 0;
  private connection: ConnectionState = { state: "connecting", transport: null };
  private everOnline = false;
  private attempt = 0;
  private wsFailures = 0;
  private retryTimer: unknown = null;
  /** A connection attempt is getting its ticket (a second attempt would open two sockets). */
  private fetchingTicket: number | null = null;
  /** Bumped when signed out: answers to requests of an earlier session are dropped. */
  private epoch = 0;
  private stableTimer: unknown = null;
  private nextDelay: number | null = null;
  private commandId = 0;

  // --- positions (§7.3) ----------------------------------------------------------------------
  private initialized = false;
  readonly positions = new Map<number, number>();
  feedSeq = 0;
  private readyFeedSeq = 0;
  private resume: ResumeState | null = null;
  /** A `resume` was sent and its reply has not come: sends wait for it (§7.4 step 5). */
  private awaitingResumed = false;
  private readonly filling = new Map<number, RoomEvent[]>();
  private feedFilling: FeedEvent[] | null = null;

  // --- data ----------------------------------------------------------------------------------
  private rooms: S["RoomSummary"][] = [];
  private readonly entries = new Map<number, RoomEntry>();
  private readonly activity = new Map<number, number>();
  private roomsSnapshot: RoomEntry[] | null = null;
  private roomsLoading = false;
  private roomsAgain = false;
  private readonly timelines = new Map<number, TimelineState>();
  private readonly viewers = new Map<number, number>();
  private outbox: OutboxItem[] = [];
  private readonly inflight = new Set<string>();
  private readonly typing = new Map<number, Map<number, unknown>>();
  private readonly typingSnapshots = new Map<number, S["UserRef"][]>();
  private readonly typingSent = new Map<number, { active: boolean; at: number }>();
  readonly presence = new Map<number, S["PresenceInfo"]>();
  private readonly presenceAsked = new Set<number>();
  private presenceQueue = new Set<number>();
  private presenceTimer: unknown = null;
  private readonly members = new Map<number, S["Member"][]>();
  private readonly membersLoading = new Set<number>();
  private unreadNotifications = 0;
  private readonly readWanted = new Map<number, number>();
  private readTimer: unknown = null;

  constructor(
    private readonly api: RealtimeApi,
    private readonly open: OpenTransport,
    private readonly env: Env,
    private readonly onSignedOut: (reason: string) => void = () => undefined,
  ) {}

  // ===========================================================================================
  // Subscriptions
  // ===========================================================================================

  subscribe(topic: string, listener: () => void): () => void {
    let set = this.listeners.get(topic);
    if (!set) this.listeners.set(topic, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  version(topic: string): number {
    return this.versions.get(topic) ?? 0;
  }

  onEvent(listener: (e: LiveEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  private changed(topic: string): void {
    this.versions.set(topic, this.version(topic) + 1);
    if (topic === "rooms") this.roomsSnapshot = null;
    if (topic.startsWith("timeline:")) {
      const t = this.timelines.get(Number(topic.slice(9)));
      if (t) t.snapshot = null;
    }
    if (topic.startsWith("typing:")) this.typingSnapshots.delete(Number(topic.slice(7)));
    for (const listener of [...(this.listeners.get(topic) ?? [])]) listener();
  }

  // ===========================================================================================
  // Lifecycle
  // ===========================================================================================

  /** Signed in: load the outbox kept for this user and connect. */
  start(me: S["Account"]): void {
    if (this.me?.id === me.id) {
      this.me = me;
      return;
    }
    this.stop();
    this.me = me;
    this.outbox = this.loadOutbox();
    this.everOnline = false;
    this.setConnection({ state: "connecting", transport: null });
    void this.loadRooms();
    void this.connect();
  }

  /** Signed out: close, forget everything but the persisted outbox. */
  stop(): void {
    this.generation++;
    this.epoch++;
    this.dropConnection();
    for (const timer of [this.retryTimer, this.stableTimer, this.presenceTimer, this.readTimer]) {
      if (timer !== null) this.env.clearTimeout(timer);
    }
    this.retryTimer = this.stableTimer = this.presenceTimer = this.readTimer = null;
    for (const users of this.typing.values()) for (const t of users.values()) this.env.clearTimeout(t);
    this.me = null;
    this.initialized = false;
    this.positions.clear();
    this.feedSeq = 0;
    this.resume = null;
    this.filling.clear();
    this.feedFilling = null;
    this.rooms = [];
    this.roomsLoading = false;
    this.roomsAgain = false;
    this.membersLoading.clear();
    this.entries.clear();
    this.activity.clear();
    this.timelines.clear();
    this.outbox = [];
    this.inflight.clear();
    this.typing.clear();
    this.typingSent.clear();
    this.presence.clear();
    this.presenceAsked.clear();
    this.presenceQueue.clear();
    this.members.clear();
    this.unreadNotifications = 0;
    this.readWanted.clear();
    this.attempt = 0;
    this.wsFailures = 0;
    for (const topic of [...this.listeners.keys()]) this.changed(topic);
  }

  getConnection(): ConnectionState {
    return this.connection;
  }

  /** Reconnects now instead of waiting for the backoff. */
  retryNow(): void {
    if (!this.me || this.conn) return;
    if (this.retryTimer !== null) this.env.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    void this.connect();
  }

  /** The browser says the network is gone: do not wait for heartbeats to notice. */
  networkLost(): void {
    if (this.conn) this.conn.transport.close();
  }

  /** The tab became visible: read markers held back while hidden move now. */
  visibilityChanged(): void {
    if (!this.env.visible()) return;
    // Back from the background (or a sleeping laptop): check the connection now.
    if (!this.conn) this.retryNow();
    else if (this.conn.ready && this.conn.pingSentAt === null) {
      this.conn.pingSentAt = this.env.now();
      void this.send(this.conn, { type: "ping" });
    }
    for (const [roomId, viewers] of this.viewers) {
      if (viewers > 0) this.markLatestRead(roomId);
    }
    this.scheduleReads();
  }

  private setConnection(state: ConnectionState): void {
    this.connection = state;
    this.changed("connection");
  }

  private async connect(): Promise<void> {
    const generation = this.generation;
    if (this.fetchingTicket === generation) return;
    this.retryTimer = null;
    this.setConnection({ state: this.everOnline ? "reconnecting" : "connecting", transport: null });
    let ticket: string;
    this.fetchingTicket = generation;
    try {
      ticket = await this.api.ticket();
    } catch {
      if (generation === this.generation && this.me) this.scheduleReconnect();
      return;
    } finally {
      if (this.fetchingTicket === generation) this.fetchingTicket = null;
    }
    if (generation !== this.generation || !this.me) return;
    const kind: TransportKind = !this.env.websocketSupported || this.wsFailures >= WS_FAILURES_BEFORE_SSE ? "sse" : "websocket";
    const connGeneration = ++this.generation;
    const conn: Connection = {
      transport: null as unknown as Transport,
      kind,
      ready: null,
      pending: new Map(),
      lastReceived: this.env.now(),
      pingSentAt: null,
      heartbeat: null,
      readyTimer: null,
      closingCode: null,
    };
    this.conn = conn;
    conn.transport = this.open(kind, ticket, {
      onFrame: (frame) => {
        if (connGeneration === this.generation) this.onFrame(conn, frame);
      },
      onClose: () => {
        if (connGeneration === this.generation && this.conn === conn) this.onClosed(conn);
      },
    });
    conn.readyTimer = this.env.setTimeout(() => {
      if (this.conn === conn && !conn.ready) conn.transport.close();
    }, READY_TIMEOUT_MS);
  }

  private onClosed(conn: Connection): void {
    const code = conn.closingCode;
    if (!conn.ready && conn.kind === "websocket" && code === null) this.wsFailures++;
    // SSE failing too: give the WebSocket its chances again (the network may have changed).
    if (!conn.ready && conn.kind === "sse" && code === null) this.wsFailures = 0;
    this.dropConnection();
    if (!this.me) return;
    if (code === "signed_out") {
      this.onSignedOut("password_changed");
      if (!this.me) return;
    }
    if (code === "shutting_down") this.nextDelay = 1_000 + this.env.random() * 1_000;
    if (code === "too_many_connections") this.nextDelay = BACKOFF_MAX_MS;
    this.scheduleReconnect();
  }

  private dropConnection(): void {
    const conn = this.conn;
    if (!conn) return;
    this.conn = null;
    this.generation++;
    this.env.clearTimeout(conn.heartbeat);
    this.env.clearTimeout(conn.readyTimer);
    if (this.stableTimer !== null) this.env.clearTimeout(this.stableTimer);
    this.stableTimer = null;
    conn.transport.close();
    for (const resolve of conn.pending.values()) resolve(null);
    conn.pending.clear();
    this.resume = null;
    this.awaitingResumed = false;
    this.filling.clear();
    this.feedFilling = null;
    this.inflight.clear();
  }

  private scheduleReconnect(): void {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
    const delay = this.nextDelay ?? base / 2 + (this.env.random() * base) / 2;
    this.nextDelay = null;
    this.attempt++;
    const retryAt = this.env.now() + delay;
    this.setConnection({ state: "offline", transport: null, retryAt });
    this.retryTimer = this.env.setTimeout(() => void this.connect(), delay);
  }

  private send(conn: Connection, command: Command): Promise<Reply | null> {
    const id = `c${++this.commandId}`;
    return new Promise((resolve) => {
      conn.pending.set(id, resolve);
      conn.transport.send({ ...command, id });
    });
  }

  /** Sends over the live connection, if there is one that is ready. */
  private command(command: Command): Promise<Reply | null> {
    const conn = this.conn;
    if (!conn?.ready) return Promise.resolve(null);
    return this.send(conn, command);
  }

  // ===========================================================================================
  // Frames
  // ===========================================================================================

  private onFrame(conn: Connection, frame: Incoming): void {
    conn.lastReceived = this.env.now();
    conn.pingSentAt = null;
    switch (frame.type) {
      case "ready":
        this.onReady(conn, frame);
        return;
      case "ack":
      case "error":
      case "pong":
      case "resumed": {
        const id = "id" in frame ? frame.id : null;
        const resolve = id ? conn.pending.get(id) : undefined;
        if (id && resolve) {
          conn.pending.delete(id);
          resolve(frame);
        }
        return;
      }
      case "closing":
        conn.closingCode = frame.code;
        return;
      default:
        if (conn.ready) this.onEvent_(frame);
    }
  }

  private onReady(conn: Connection, ready: Ready): void {
    this.env.clearTimeout(conn.readyTimer);
    if (ready.protocol !== 1) {
      conn.closingCode = "protocol";
      conn.transport.close();
      return;
    }
    conn.ready = ready;
    if (conn.kind === "websocket") this.wsFailures = 0;
    const reconnect = this.everOnline;
    this.everOnline = true;
    this.readyFeedSeq = ready.feed_seq;
    this.stableTimer = this.env.setTimeout(() => {
      this.attempt = 0;
    }, STABLE_MS);
    this.startHeartbeat(conn, ready.heartbeat_ms);
    this.setConnection({ state: "online", transport: conn.kind });

    const resumeRooms: S["RoomPosition"][] = [];
    let feedAfter: number | undefined;
    const readyRooms = new Map(ready.rooms.map((r) => [r.room_id, r.seq]));
    if (!this.initialized) {
      this.initialized = true;
      this.positions.clear();
      for (const [roomId, seq] of readyRooms) this.positions.set(roomId, seq);
      this.feedSeq = ready.feed_seq;
      // Pages loaded before the connection came may miss what happened since.
      for (const roomId of this.timelines.keys()) void this.refreshLatest(roomId);
    } else {
      for (const roomId of [...this.positions.keys()]) {
        if (!readyRooms.has(roomId)) this.positions.delete(roomId);
      }
      for (const [roomId, seq] of readyRooms) {
        const stored = this.positions.get(roomId);
        if (stored === undefined) {
          this.positions.set(roomId, seq);
          if (this.timelines.has(roomId)) void this.refreshLatest(roomId);
        } else if (stored < seq) {
          resumeRooms.push({ room_id: roomId, seq: stored });
        }
      }
      if (this.feedSeq < ready.feed_seq) feedAfter = this.feedSeq;
    }

    void this.loadRooms();
    void this.loadUnreadNotifications();
    for (const [roomId, timeline] of this.timelines) {
      if (!timeline.loaded && (this.viewers.get(roomId) ?? 0) > 0) void this.loadLatest(roomId);
    }
    if (reconnect) {
      // Unsequenced state (presence, read markers) may have changed while away.
      const known = [...this.presenceAsked];
      this.presenceAsked.clear();
      this.wantPresence(known);
      for (const roomId of this.members.keys()) void this.loadMembers(roomId);
    }
    if (resumeRooms.length > 0 || feedAfter !== undefined) {
      void this.sendResume(conn, resumeRooms, feedAfter);
    } else {
      this.flushOutbox();
    }
    this.scheduleReads();
  }

  private startHeartbeat(conn: Connection, heartbeatMs: number): void {
    const check = () => {
      if (this.conn !== conn) return;
      const now = this.env.now();
      if (conn.pingSentAt !== null && now - conn.pingSentAt >= heartbeatMs) {
        conn.transport.close();
        return;
      }
      if (conn.pingSentAt === null && now - conn.lastReceived >= heartbeatMs) {
        conn.pingSentAt = now;
        void this.send(conn, { type: "ping" });
      }
      conn.heartbeat = this.env.setTimeout(check, heartbeatMs / 4);
    };
    conn.heartbeat = this.env.setTimeout(check, heartbeatMs / 4);
  }

  // ===========================================================================================
  // Resume (§7.4, §7.5)
  // ===========================================================================================

  private async sendResume(conn: Connection, rooms: S["RoomPosition"][], feedAfter: number | undefined): Promise<void> {
    const ready = conn.ready;
    if (!ready) return;
    this.resume = { rooms: new Map(rooms.map((r) => [r.room_id, null])), feed: feedAfter === undefined ? undefined : null };
    this.awaitingResumed = true;
    const command: Command =
      feedAfter === undefined ? { type: "resume", rooms } : { type: "resume", rooms, feed_after: feedAfter };
    const reply = await this.send(conn, command);
    if (this.conn !== conn || !reply) return;
    if (reply.type === "resumed") {
      this.awaitingResumed = false;
      const resume = this.resume;
      if (resume) {
        for (const { room_id, seq } of reply.rooms) {
          if (!resume.rooms.has(room_id)) continue;
          if ((this.positions.get(room_id) ?? 0) >= seq) resume.rooms.delete(room_id);
          else resume.rooms.set(room_id, seq);
        }
        for (const [roomId, target] of resume.rooms) if (target === null) resume.rooms.delete(roomId);
        if (resume.feed !== undefined) resume.feed = this.feedSeq >= reply.feed_seq ? undefined : reply.feed_seq;
        this.settleResume();
        if (this.resume === resume) {
          // Over SSE the replay may still be on its way; if it never completes, read it over REST.
          this.env.setTimeout(() => this.abandonResume(conn, resume), RESUME_GRACE_MS);
        }
      }
      this.flushOutbox();
      return;
    }
    if (reply.type !== "error") return;
    const roomId = reply.room_id ?? null;
    if (reply.code === "too_far_behind" || (reply.code === "room_not_found" && roomId !== null)) {
      let rest = rooms;
      let feed = feedAfter;
      if (roomId !== null) {
        rest = rooms.filter((r) => r.room_id !== roomId);
        const readySeq = ready.rooms.find((r) => r.room_id === roomId)?.seq;
        if (reply.code === "too_far_behind" && readySeq !== undefined) {
          this.positions.set(roomId, readySeq);
          this.reloadRoom(roomId);
        } else {
          this.positions.delete(roomId);
        }
      } else if (reply.code === "too_far_behind") {
        feed = undefined;
        this.feedSeq = ready.feed_seq;
        void this.loadUnreadNotifications();
      }
      this.resume = null;
      this.awaitingResumed = false;
      if (rest.length > 0 || feed !== undefined) await this.sendResume(conn, rest, feed);
      else this.flushOutbox();
      return;
    }
    if (reply.code === "rate_limited") {
      this.env.setTimeout(() => {
        if (this.conn === conn) void this.sendResume(conn, rooms, feedAfter);
      }, reply.retry_after_ms ?? 1_000);
      return;
    }
    conn.transport.close();
  }

  /** A replay that did not reach the positions `resumed` gave: fill the rest like a gap. */
  private abandonResume(conn: Connection, resume: ResumeState): void {
    if (this.conn !== conn || this.resume !== resume) return;
    this.resume = null;
    for (const [roomId, target] of resume.rooms) {
      if (target !== null && (this.positions.get(roomId) ?? 0) < target && !this.filling.has(roomId)) void this.fillGap(roomId, []);
    }
    if (typeof resume.feed === "number" && this.feedSeq < resume.feed && !this.feedFilling) void this.fillFeed([]);
  }

  /** Ends the pending resume for rooms (and the feed) whose replay is complete. */
  private settleResume(): void {
    const resume = this.resume;
    if (!resume) return;
    for (const [roomId, target] of resume.rooms) {
      if (target !== null && (this.positions.get(roomId) ?? 0) >= target) resume.rooms.delete(roomId);
    }
    if (typeof resume.feed === "number" && this.feedSeq >= resume.feed) resume.feed = undefined;
    if (!this.awaitingResumed && resume.rooms.size === 0 && resume.feed === undefined) this.resume = null;
  }

  /** Discards a room's local copy (too far behind): reload its summary and latest page. */
  private reloadRoom(roomId: number): void {
    const timeline = this.timelines.get(roomId);
    if (timeline) {
      this.timelines.set(roomId, this.emptyTimeline(timeline.lastReadSeq));
      this.changed(`timeline:${roomId}`);
      void this.loadLatest(roomId);
    }
    void this.loadRooms();
  }

  // ===========================================================================================
  // Events (§7.3)
  // ===========================================================================================

  private onEvent_(e: LiveEvent): void {
    if (isRoomEvent(e)) {
      this.onRoomEvent(e);
    } else if (e.type === "notification" || e.type === "membership") {
      this.onFeedEvent(e);
    } else {
      this.applyUnsequenced(e);
    }
  }

  private onRoomEvent(e: RoomEvent): void {
    const position = this.positions.get(e.room_id);
    if (position === undefined) return;
    const queue = this.filling.get(e.room_id);
    if (queue) {
      queue.push(e);
      return;
    }
    if (e.seq <= position) return;
    if (e.seq === position + 1) {
      this.applyRoomEvent(e);
      return;
    }
    if (this.resume?.rooms.has(e.room_id)) return;
    void this.fillGap(e.room_id, [e]);
  }

  private applyRoomEvent(e: RoomEvent): void {
    this.positions.set(e.room_id, e.seq);
    this.apply(e);
    this.settleResume();
  }

  /** Reads the missed changes of a room over REST, then what arrived meanwhile. */
  private async fillGap(roomId: number, queue: RoomEvent[]): Promise<void> {
    const generation = this.generation;
    this.filling.set(roomId, queue);
    try {
      for (;;) {
        const after = this.positions.get(roomId);
        if (after === undefined) break;
        const page = await this.api.changes(roomId, after);
        if (generation !== this.generation) return;
        for (const e of page.events) {
          if (isRoomEvent(e) && e.room_id === roomId && e.seq === (this.positions.get(roomId) ?? 0) + 1) this.applyRoomEvent(e);
        }
        if (!page.has_more || page.events.length === 0) break;
      }
    } catch {
      if (generation !== this.generation) return;
      // Could not fill: a new connection resumes from the position applied so far.
      this.filling.delete(roomId);
      this.conn?.transport.close();
      return;
    }
    if (generation !== this.generation) return;
    const waiting = this.filling.get(roomId) ?? [];
    this.filling.delete(roomId);
    for (const e of waiting) {
      const position = this.positions.get(roomId);
      if (position === undefined) return;
      if (e.seq <= position) continue;
      if (e.seq > position + 1) {
        // The changes did not reach it (yet): a new connection resumes from what was applied.
        this.conn?.transport.close();
        return;
      }
      this.applyRoomEvent(e);
    }
  }

  private onFeedEvent(e: FeedEvent): void {
    if (this.feedFilling) {
      this.feedFilling.push(e);
      return;
    }
    const seq = feedSeqOf(e);
    if (seq <= this.feedSeq) return;
    if (seq > this.feedSeq + 1) {
      if (this.resume && this.resume.feed !== undefined) return;
      void this.fillFeed([e]);
      return;
    }
    this.applyFeedEvent(e);
  }

  private applyFeedEvent(e: FeedEvent): void {
    this.feedSeq = feedSeqOf(e);
    if (e.type === "membership" && e.feed_seq > this.readyFeedSeq) {
      if (e.joined) {
        this.positions.set(e.room_id, e.room_seq - 1);
      } else {
        this.positions.delete(e.room_id);
        this.removeRoom(e.room_id);
      }
      void this.loadRooms();
    }
    // Replayed ones (up to ready's feed position) are in the count read at connection time.
    if (e.type === "notification" && !e.notification.read && e.notification.feed_seq > this.readyFeedSeq) {
      this.unreadNotifications++;
      this.changed("notifications");
    }
    this.settleResume();
    this.emit(e);
  }

  private async fillFeed(queue: FeedEvent[]): Promise<void> {
    const generation = this.generation;
    this.feedFilling = queue;
    try {
      for (;;) {
        const page = await this.api.feed(this.feedSeq);
        if (generation !== this.generation) return;
        let applied = 0;
        for (const e of page.events) {
          if ((e.type === "notification" || e.type === "membership") && feedSeqOf(e) === this.feedSeq + 1) {
            this.applyFeedEvent(e);
            applied++;
          }
        }
        if (!page.has_more || applied === 0) break;
      }
    } catch {
      if (generation !== this.generation) return;
      this.feedFilling = null;
      this.conn?.transport.close();
      return;
    }
    if (generation !== this.generation) return;
    const waiting = this.feedFilling ?? [];
    this.feedFilling = null;
    for (const e of waiting) {
      const seq = feedSeqOf(e);
      if (seq <= this.feedSeq) continue;
      if (seq > this.feedSeq + 1) {
        this.conn?.transport.close();
        return;
      }
      this.applyFeedEvent(e);
    }
  }

  private emit(e: LiveEvent): void {
    for (const listener of [...this.eventListeners]) listener(e);
  }

  /** Applies a sequenced room event whose turn it is. */
  private apply(e: RoomEvent): void {
    const summary = this.entries.get(e.room_id)?.summary;
    const roomChanged = summary && e.seq > summary.room.last_seq;
    switch (e.type) {
      case "message.created": {
        const m = e.message;
        this.confirmOutbox(m);
        this.upsertMessage(m, true);
        this.stopTyping(e.room_id, m.sender.id);
        const mine = m.sender.id === this.me?.id;
        if (summary && roomChanged) {
          const viewing = this.isViewing(e.room_id);
          let unread = summary.unread;
          if (!mine && !m.deleted && !viewing && summary.role) unread++;
          this.setSummary({ ...summary, unread, room: { ...summary.room, last_seq: e.seq } });
          this.activity.set(e.room_id, m.created_at);
          this.changed("rooms");
          if (viewing && !mine) this.markRead(e.room_id, e.seq);
        }
        break;
      }
      case "message.edited":
        this.upsertMessage(e.message, false);
        break;
      case "message.deleted":
        this.patchMessage(e.room_id, e.message_id, (m) =>
          m.deleted ? m : { ...m, deleted: true, body: "", attachments: [], mentions: [] },
        );
        break;
      case "reaction.added":
      case "reaction.removed": {
        const add = e.type === "reaction.added";
        this.patchMessage(e.room_id, e.message_id, (m) => {
          const reactions = m.reactions.map((r) => ({ ...r, users: [...r.users] }));
          let reaction = reactions.find((r) => r.emoji === e.emoji);
          if (add) {
            if (reaction?.users.includes(e.user_id)) return m;
            if (!reaction) reactions.push((reaction = { emoji: e.emoji, users: [] }));
            reaction.users.push(e.user_id);
          } else {
            if (!reaction?.users.includes(e.user_id)) return m;
            reaction.users = reaction.users.filter((u) => u !== e.user_id);
          }
          return { ...m, reactions: reactions.filter((r) => r.users.length > 0) };
        });
        break;
      }
      case "member.joined": {
        const list = this.members.get(e.room_id);
        if (list && !list.some((m) => m.user.id === e.user.id)) {
          this.members.set(e.room_id, [...list, { user: e.user, role: e.role, joined_at: this.env.now(), last_read_seq: 0 }]);
          this.changed(`members:${e.room_id}`);
        }
        if (summary && roomChanged) this.setSummary({ ...summary, room: { ...summary.room, member_count: summary.room.member_count + (list?.some((m) => m.user.id === e.user.id) ? 0 : 1) } });
        break;
      }
      case "member.left": {
        const list = this.members.get(e.room_id);
        if (list) {
          this.members.set(e.room_id, list.filter((m) => m.user.id !== e.user_id));
          this.changed(`members:${e.room_id}`);
        }
        if (summary && roomChanged) this.setSummary({ ...summary, room: { ...summary.room, member_count: Math.max(0, summary.room.member_count - 1) } });
        break;
      }
      case "member.role": {
        const list = this.members.get(e.room_id);
        if (list) {
          this.members.set(e.room_id, list.map((m) => (m.user.id === e.user_id ? { ...m, role: e.role } : m)));
          this.changed(`members:${e.room_id}`);
        }
        if (summary && e.user_id === this.me?.id) this.setSummary({ ...summary, role: e.role });
        break;
      }
    }
    const after = this.entries.get(e.room_id)?.summary;
    if (after && e.seq > after.room.last_seq) {
      this.setSummary({ ...after, room: { ...after.room, last_seq: e.seq } });
    }
    this.emit(e);
  }

  private applyUnsequenced(e: LiveEvent): void {
    switch (e.type) {
      case "read": {
        const list = this.members.get(e.room_id);
        if (list) {
          this.members.set(e.room_id, list.map((m) => (m.user.id === e.user_id && e.seq > m.last_read_seq ? { ...m, last_read_seq: e.seq } : m)));
          this.changed(`members:${e.room_id}`);
        }
        if (e.user_id === this.me?.id) {
          const summary = this.entries.get(e.room_id)?.summary;
          if (summary && e.seq > summary.last_read_seq) {
            const all = e.seq >= summary.room.last_seq;
            this.setSummary({ ...summary, last_read_seq: e.seq, unread: all ? 0 : summary.unread });
            if (!all) void this.loadUnread();
          }
        }
        break;
      }
      case "typing":
        if (e.user_id !== this.me?.id) {
          if (e.active) this.startTyping(e.room_id, e.user_id, e.expires_in_ms);
          else this.stopTyping(e.room_id, e.user_id);
        }
        break;
      case "presence":
        this.presence.set(e.user_id, { user_id: e.user_id, online: e.online, last_seen: e.last_seen ?? null });
        this.changed("presence");
        break;
      case "notifications.read":
        this.unreadNotifications = e.unread;
        this.changed("notifications");
        break;
      case "room.activity": {
        const summary = this.entries.get(e.room_id)?.summary;
        if (summary && e.last_seq > summary.room.last_seq && !summary.role) {
          this.setSummary({ ...summary, room: { ...summary.room, last_seq: e.last_seq } });
        }
        break;
      }
      case "signed_out":
        this.onSignedOut(e.reason);
        break;
      default:
        break;
    }
    if (this.me) this.emit(e);
  }

  // ===========================================================================================
  // Rooms
  // ===========================================================================================

  getRooms(): RoomEntry[] {
    if (!this.roomsSnapshot) {
      const order = new Map(this.rooms.map((r, i) => [r.room.id, i]));
      this.roomsSnapshot = this.rooms
        .filter((r) => r.role)
        .map((r) => this.entries.get(r.room.id))
        .filter((e): e is RoomEntry => e !== undefined)
        .sort((a, b) => {
          const x = this.activity.get(a.summary.room.id) ?? 0;
          const y = this.activity.get(b.summary.room.id) ?? 0;
          if (x !== y) return y - x;
          return (order.get(a.summary.room.id) ?? 0) - (order.get(b.summary.room.id) ?? 0);
        });
    }
    return this.roomsSnapshot;
  }

  getRoom(roomId: number): RoomEntry | undefined {
    return this.entries.get(roomId);
  }

  private setSummary(summary: S["RoomSummary"]): void {
    const index = this.rooms.findIndex((r) => r.room.id === summary.room.id);
    if (index >= 0) this.rooms[index] = summary;
    else this.rooms.push(summary);
    this.entries.set(summary.room.id, { summary });
    const timeline = this.timelines.get(summary.room.id);
    if (timeline && timeline.lastReadSeq === null && summary.role) {
      timeline.lastReadSeq = summary.last_read_seq;
      this.changed(`timeline:${summary.room.id}`);
    }
    this.changed("rooms");
  }

  private removeRoom(roomId: number): void {
    this.rooms = this.rooms.filter((r) => r.room.id !== roomId);
    this.entries.delete(roomId);
    this.changed("rooms");
  }

  /** The room list over REST (the truth), keeping live changes newer than it. */
  async loadRooms(): Promise<void> {
    if (this.roomsLoading) {
      this.roomsAgain = true;
      return;
    }
    const epoch = this.epoch;
    this.roomsLoading = true;
    try {
      const list = await this.api.rooms();
      if (epoch !== this.epoch) return;
      this.rooms = list.map((fresh) => {
        const local = this.entries.get(fresh.room.id)?.summary;
        return local && local.room.last_seq > fresh.room.last_seq && Boolean(local.role) === Boolean(fresh.role)
          ? { ...fresh, room: { ...fresh.room, last_seq: local.room.last_seq }, unread: local.unread }
          : fresh;
      });
      this.entries.clear();
      for (const summary of this.rooms) this.setSummary(summary);
      this.changed("rooms");
    } catch {
      // the next connection (or membership change) loads it again
    } finally {
      if (epoch === this.epoch) {
        this.roomsLoading = false;
        if (this.roomsAgain) {
          this.roomsAgain = false;
          void this.loadRooms();
        }
      }
    }
  }

  private async loadUnread(): Promise<void> {
    const epoch = this.epoch;
    try {
      const unread = await this.api.unread();
      if (epoch !== this.epoch) return;
      for (const r of unread.rooms) {
        const summary = this.entries.get(r.room_id)?.summary;
        if (summary && summary.room.last_seq <= r.last_seq) {
          this.setSummary({ ...summary, unread: r.unread, last_read_seq: Math.max(summary.last_read_seq, r.last_read_seq) });
        }
      }
      this.unreadNotifications = unread.notifications;
      this.changed("notifications");
    } catch {
      // a later read event or reconnection corrects it
    }
  }

  // ===========================================================================================
  // Timelines
  // ===========================================================================================

  private emptyTimeline(lastReadSeq: number | null): TimelineState {
    return {
      messages: [],
      firstItemIndex: FIRST_INDEX,
      hasOlder: true,
      loadingOlder: false,
      loaded: false,
      loading: false,
      lastReadSeq,
      snapshot: null,
    };
  }

  /** Starts showing a room: the first user loads its latest page. */
  view(roomId: number): () => void {
    const opening = (this.viewers.get(roomId) ?? 0) === 0;
    this.viewers.set(roomId, (this.viewers.get(roomId) ?? 0) + 1);
    const timeline = this.timelineState(roomId);
    const summary = this.entries.get(roomId)?.summary;
    if (opening && summary?.role && timeline.lastReadSeq !== summary.last_read_seq) {
      // the unread separator sits where the watermark was when the room was opened
      timeline.lastReadSeq = summary.last_read_seq;
      this.changed(`timeline:${roomId}`);
    }
    if (!timeline.loaded) void this.loadLatest(roomId);
    else this.markLatestRead(roomId);
    return () => {
      const n = (this.viewers.get(roomId) ?? 1) - 1;
      if (n > 0) this.viewers.set(roomId, n);
      else this.viewers.delete(roomId);
    };
  }

  private timelineState(roomId: number): TimelineState {
    let timeline = this.timelines.get(roomId);
    if (!timeline) {
      const summary = this.entries.get(roomId)?.summary;
      timeline = this.emptyTimeline(summary?.role ? summary.last_read_seq : null);
      this.timelines.set(roomId, timeline);
    }
    return timeline;
  }

  private isViewing(roomId: number): boolean {
    return (this.viewers.get(roomId) ?? 0) > 0 && this.env.visible();
  }

  private markLatestRead(roomId: number): void {
    const t = this.timelines.get(roomId);
    const last = t?.messages[t.messages.length - 1];
    if (last && this.isViewing(roomId)) this.markRead(roomId, last.seq);
  }

  private async loadLatest(roomId: number): Promise<void> {
    const timeline = this.timelines.get(roomId);
    if (!timeline || timeline.loading) return;
    timeline.loading = true;
    try {
      const page = await this.api.messages(roomId, { limit: PAGE });
      const current = this.timelines.get(roomId);
      if (current !== timeline) return;
      timeline.loaded = true;
      timeline.hasOlder = page.next !== null && page.next !== undefined;
      for (const m of page.items) this.mergeMessage(timeline, m);
      const last = timeline.messages[timeline.messages.length - 1];
      if (last && (this.activity.get(roomId) ?? 0) < last.created_at) {
        this.activity.set(roomId, last.created_at);
        this.changed("rooms");
      }
      this.changed(`timeline:${roomId}`);
      this.markLatestRead(roomId);
    } catch {
      timeline.hasOlder = false;
      this.changed(`timeline:${roomId}`);
    } finally {
      timeline.loading = false;
    }
  }

  /** After being away: the latest page again, merged (positions cover what follows). */
  private async refreshLatest(roomId: number): Promise<void> {
    const timeline = this.timelines.get(roomId);
    if (!timeline?.loaded) return;
    try {
      const page = await this.api.messages(roomId, { limit: PAGE });
      if (this.timelines.get(roomId) !== timeline) return;
      for (const m of page.items) this.mergeMessage(timeline, m);
      this.changed(`timeline:${roomId}`);
    } catch {
      // kept as it is
    }
  }

  async loadOlder(roomId: number): Promise<void> {
    const timeline = this.timelines.get(roomId);
    if (!timeline || timeline.loadingOlder || !timeline.hasOlder || !timeline.loaded) return;
    const oldest = timeline.messages[0];
    timeline.loadingOlder = true;
    this.changed(`timeline:${roomId}`);
    try {
      const page = await this.api.messages(roomId, oldest ? { before: oldest.seq, limit: PAGE } : { limit: PAGE });
      if (this.timelines.get(roomId) !== timeline) return;
      const before = timeline.messages.length;
      for (const m of page.items) this.mergeMessage(timeline, m);
      timeline.firstItemIndex -= timeline.messages.length - before;
      timeline.hasOlder = page.next !== null && page.next !== undefined;
    } finally {
      timeline.loadingOlder = false;
      this.changed(`timeline:${roomId}`);
    }
  }

  /** Inserts or replaces a message (by id) keeping the timeline in `seq` order. */
  private mergeMessage(timeline: TimelineState, m: S["Message"]): void {
    const list = timeline.messages;
    const index = list.findIndex((x) => x.id === m.id);
    if (index >= 0) {
      list[index] = m;
      return;
    }
    let at = list.length;
    while (at > 0 && (list[at - 1]?.seq ?? 0) > m.seq) at--;
    list.splice(at, 0, m);
  }

  private upsertMessage(m: S["Message"], created: boolean): void {
    const timeline = this.timelines.get(m.room_id);
    if (!timeline) return;
    if (!created && !timeline.messages.some((x) => x.id === m.id)) {
      // an edit of a message older than what is loaded: nothing to show
      const oldest = timeline.messages[0];
      if (oldest && m.seq < oldest.seq) return;
    }
    this.mergeMessage(timeline, m);
    this.changed(`timeline:${m.room_id}`);
  }

  private patchMessage(roomId: number, messageId: number, patch: (m: S["Message"]) => S["Message"]): void {
    const timeline = this.timelines.get(roomId);
    if (!timeline) return;
    const index = timeline.messages.findIndex((m) => m.id === messageId);
    const current = index >= 0 ? timeline.messages[index] : undefined;
    if (!current) return;
    const next = patch(current);
    if (next === current) return;
    timeline.messages[index] = next;
    this.changed(`timeline:${roomId}`);
  }

  getTimeline(roomId: number): Timeline {
    const timeline = this.timelineState(roomId);
    if (timeline.snapshot) return timeline.snapshot;
    const items: TimelineItem[] = timeline.messages.map((message) => ({ key: `m${message.id}`, message, status: "sent" }));
    const me = this.me;
    for (const item of this.outbox) {
      if (item.roomId !== roomId || !me) continue;
      items.push({
        key: `c${item.clientId}`,
        status: item.status,
        ...(item.error === undefined ? {} : { error: item.error }),
        message: {
          id: 0,
          room_id: roomId,
          seq: 0,
          sender: { id: me.id, username: me.username, display_name: me.display_name },
          client_id: item.clientId,
          body: item.body,
          reply_to: item.replyTo,
          forwarded_from: null,
          attachments: [],
          mentions: [],
          reactions: [],
          created_at: item.createdAt,
          edited_at: null,
          deleted: false,
        },
      });
    }
    const snapshot: Timeline = {
      items,
      firstItemIndex: timeline.firstItemIndex,
      hasOlder: timeline.hasOlder,
      loadingOlder: timeline.loadingOlder,
      loaded: timeline.loaded,
      loadOlder: () => this.loadOlder(roomId),
      lastReadSeq: timeline.lastReadSeq ?? 0,
    };
    timeline.snapshot = snapshot;
    return snapshot;
  }

  // ===========================================================================================
  // Outbox (§8)
  // ===========================================================================================

  private outboxKey(): string | null {
    return this.me ? `jeco-outbox:${this.me.id}` : null;
  }

  private loadOutbox(): OutboxItem[] {
    const key = this.outboxKey();
    if (!key || !this.env.storage) return [];
    try {
      const items = JSON.parse(this.env.storage.getItem(key) ?? "[]") as OutboxItem[];
      return Array.isArray(items) ? items : [];
    } catch {
      return [];
    }
  }

  private saveOutbox(): void {
    const key = this.outboxKey();
    if (!key || !this.env.storage) return;
    try {
      if (this.outbox.length === 0) this.env.storage.removeItem(key);
      else this.env.storage.setItem(key, JSON.stringify(this.outbox));
    } catch {
      // storage full or denied: the outbox still lives in memory
    }
  }

  getOutbox(): readonly OutboxItem[] {
    return this.outbox;
  }

  sendMessage(roomId: number, draft: Draft): string {
    const item: OutboxItem = {
      clientId: this.env.clientId(),
      roomId,
      body: draft.body,
      replyTo: draft.replyTo ?? null,
      attachments: draft.attachments ?? [],
      status: "pending",
      createdAt: this.env.now(),
    };
    this.outbox.push(item);
    // A send on the connection that announced typing ends the indication (§4 `typing`).
    this.typingSent.delete(roomId);
    this.saveOutbox();
    this.changed(`timeline:${roomId}`);
    this.flushOutbox();
    return item.clientId;
  }

  retry(clientId: string): void {
    const item = this.outbox.find((i) => i.clientId === clientId);
    if (!item || item.status !== "failed") return;
    item.status = "pending";
    delete item.error;
    this.saveOutbox();
    this.changed(`timeline:${item.roomId}`);
    this.flushOutbox();
  }

  discard(clientId: string): void {
    const item = this.outbox.find((i) => i.clientId === clientId);
    if (!item || this.inflight.has(clientId)) return;
    this.outbox = this.outbox.filter((i) => i !== item);
    this.saveOutbox();
    this.changed(`timeline:${item.roomId}`);
  }

  /** Sends every pending message not on its way, in order, once resumed. */
  private flushOutbox(): void {
    const conn = this.conn;
    if (!conn?.ready || this.awaitingResumed) return;
    for (const item of this.outbox) {
      if (item.status === "pending" && !this.inflight.has(item.clientId)) void this.sendItem(conn, item);
    }
  }

  private async sendItem(conn: Connection, item: OutboxItem): Promise<void> {
    this.inflight.add(item.clientId);
    const reply = await this.send(conn, {
      type: "send",
      room_id: item.roomId,
      client_id: item.clientId,
      body: item.body,
      reply_to: item.replyTo,
      attachments: item.attachments,
    });
    this.inflight.delete(item.clientId);
    if (!reply || !this.outbox.includes(item)) return;
    if (reply.type === "ack" && reply.message) {
      this.confirmOutbox(reply.message);
      this.upsertMessage(reply.message, true);
      return;
    }
    if (reply.type !== "error") return;
    if (reply.code === "rate_limited") {
      this.env.setTimeout(() => this.flushOutbox(), reply.retry_after_ms ?? 1_000);
      return;
    }
    item.status = "failed";
    item.error = errorText(new ApiError(reply.code, reply.message, 0));
    this.saveOutbox();
    this.changed(`timeline:${item.roomId}`);
  }

  /** A message of ours arrived (ack or event): its pending copy is done. */
  private confirmOutbox(m: S["Message"]): void {
    if (m.sender.id !== this.me?.id) return;
    const item = this.outbox.find((i) => i.clientId === m.client_id && i.roomId === m.room_id);
    if (!item) return;
    this.outbox = this.outbox.filter((i) => i !== item);
    this.saveOutbox();
    this.changed(`timeline:${m.room_id}`);
  }

  // ===========================================================================================
  // Commands over REST (their events come live)
  // ===========================================================================================

  async edit(messageId: number, body: string): Promise<void> {
    const m = await this.api.edit(messageId, body);
    this.upsertMessage(m, false);
  }

  async remove(messageId: number): Promise<void> {
    await this.api.remove(messageId);
  }

  async react(messageId: number, emoji: string): Promise<boolean> {
    return this.api.react(messageId, emoji);
  }

  sendTyping(roomId: number, active: boolean): void {
    const last = this.typingSent.get(roomId);
    const now = this.env.now();
    if (active && last?.active && now - last.at < TYPING_RENEW_MS) return;
    if (!active && !last?.active) return;
    this.typingSent.set(roomId, { active, at: now });
    void this.command({ type: "typing", room_id: roomId, active });
  }

  /** Moves the read watermark forward (batched, and only while the tab is visible). */
  markRead(roomId: number, seq: number): void {
    const summary = this.entries.get(roomId)?.summary;
    const current = Math.max(summary?.last_read_seq ?? 0, this.readWanted.get(roomId) ?? 0);
    if (seq <= current) return;
    this.readWanted.set(roomId, seq);
    if (summary?.role) {
      const all = seq >= summary.room.last_seq;
      this.setSummary({ ...summary, last_read_seq: seq, unread: all ? 0 : summary.unread });
    }
    this.scheduleReads();
  }

  private scheduleReads(): void {
    if (this.readTimer !== null || this.readWanted.size === 0) return;
    this.readTimer = this.env.setTimeout(() => {
      this.readTimer = null;
      void this.flushReads();
    }, READ_BATCH_MS);
  }

  private async flushReads(): Promise<void> {
    if (!this.env.visible() || !this.me) return;
    const wanted = [...this.readWanted];
    this.readWanted.clear();
    await Promise.all(
      wanted.map(async ([roomId, seq]) => {
        const reply = await this.command({ type: "read", room_id: roomId, seq });
        if (reply?.type === "ack") return;
        try {
          await this.api.markRead(roomId, seq);
        } catch {
          // read is safe to repeat: the next markRead carries it
        }
      }),
    );
  }

  // ===========================================================================================
  // Typing, presence, members, notifications
  // ===========================================================================================

  private startTyping(roomId: number, userId: number, expiresInMs: number): void {
    let users = this.typing.get(roomId);
    if (!users) this.typing.set(roomId, (users = new Map<number, unknown>()));
    const existing = users.get(userId);
    if (existing !== undefined) this.env.clearTimeout(existing);
    users.set(userId, this.env.setTimeout(() => this.stopTyping(roomId, userId), expiresInMs));
    if (existing === undefined) this.changed(`typing:${roomId}`);
  }

  private stopTyping(roomId: number, userId: number): void {
    const users = this.typing.get(roomId);
    const timer = users?.get(userId);
    if (!users || timer === undefined) return;
    this.env.clearTimeout(timer);
    users.delete(userId);
    this.changed(`typing:${roomId}`);
  }

  getTyping(roomId: number): S["UserRef"][] {
    const cached = this.typingSnapshots.get(roomId);
    if (cached) return cached;
    const ids = [...(this.typing.get(roomId)?.keys() ?? [])];
    const members = this.members.get(roomId) ?? [];
    const senders = this.timelines.get(roomId)?.messages ?? [];
    const users = ids.map(
      (id) =>
        members.find((m) => m.user.id === id)?.user ??
        senders.find((m) => m.sender.id === id)?.sender ?? { id, username: `user${id}`, display_name: "" },
    );
    this.typingSnapshots.set(roomId, users);
    return users;
  }

  /** Asks for the presence of users not asked about yet (batched). */
  wantPresence(ids: number[]): void {
    for (const id of ids) {
      if (!this.presenceAsked.has(id)) {
        this.presenceAsked.add(id);
        this.presenceQueue.add(id);
      }
    }
    if (this.presenceQueue.size === 0 || this.presenceTimer !== null) return;
    this.presenceTimer = this.env.setTimeout(() => {
      this.presenceTimer = null;
      const queue = [...this.presenceQueue];
      this.presenceQueue = new Set();
      for (let i = 0; i < queue.length; i += 1000) void this.loadPresence(queue.slice(i, i + 1000));
    }, 0);
  }

  private async loadPresence(ids: number[]): Promise<void> {
    const epoch = this.epoch;
    try {
      const list = await this.api.presence(ids);
      if (epoch !== this.epoch) return;
      for (const p of list) this.presence.set(p.user_id, p);
      this.changed("presence");
    } catch {
      if (epoch === this.epoch) for (const id of ids) this.presenceAsked.delete(id);
    }
  }

  getMembers(roomId: number): S["Member"][] {
    return this.members.get(roomId) ?? NO_MEMBERS;
  }

  ensureMembers(roomId: number): void {
    if (!this.members.has(roomId)) void this.loadMembers(roomId);
  }

  async loadMembers(roomId: number): Promise<void> {
    if (this.membersLoading.has(roomId)) return;
    this.membersLoading.add(roomId);
    const epoch = this.epoch;
    try {
      const list = await this.api.members(roomId);
      if (epoch !== this.epoch) return;
      this.members.set(roomId, list);
      this.changed(`members:${roomId}`);
      this.changed(`typing:${roomId}`);
    } catch {
      // shown empty; a reconnection reloads it
    } finally {
      if (epoch === this.epoch) this.membersLoading.delete(roomId);
    }
  }

  getUnreadNotifications(): number {
    return this.unreadNotifications;
  }

  private async loadUnreadNotifications(): Promise<void> {
    const epoch = this.epoch;
    try {
      const count = await this.api.unreadNotifications();
      if (epoch !== this.epoch) return;
      this.unreadNotifications = count;
      this.changed("notifications");
    } catch {
      // live events keep it until the next connection
    }
  }
}
