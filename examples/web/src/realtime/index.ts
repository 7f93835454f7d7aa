// The real-time store of this tab and its React hooks. The UI reads state through the hooks
// and acts through `chat`; it never talks to the connection itself.
import { useCallback, useEffect, useMemo, useSyncExternalStore } from "react";
import type { S } from "../api/client";
import { session } from "../auth/session";
import { browserEnv, openTransport, restApi } from "./browser";
import { RealtimeCore, type Draft, type RoomEntry, type Timeline } from "./core";
import type { ConnectionState, LiveEvent } from "./types";

export type { RoomEntry, Timeline, TimelineItem } from "./core";
export type { ConnectionState } from "./types";

const core = new RealtimeCore(restApi, openTransport, browserEnv(), (reason) => session.signedOutEvent(reason));

function follow() {
  const state = session.get();
  if (state.status === "signed-in") core.start(state.me);
  else if (state.status === "signed-out") core.stop();
}
session.subscribe(follow);
follow();
window.addEventListener("online", () => core.retryNow());
window.addEventListener("offline", () => core.networkLost());
document.addEventListener("visibilitychange", () => core.visibilityChanged());

function useTopic(topic: string): number {
  const subscribe = useCallback((listener: () => void) => core.subscribe(topic, listener), [topic]);
  return useSyncExternalStore(subscribe, () => core.version(topic));
}

/** The connection: connecting, online (over which transport), reconnecting, offline until `retryAt`. */
export function useConnection(): ConnectionState {
  useTopic("connection");
  return core.getConnection();
}

/** Tries to connect now instead of waiting for the next attempt. */
export function retryNow(): void {
  core.retryNow();
}

/** Joined rooms and direct conversations, most recently active first, live. */
export function useRooms(): RoomEntry[] {
  useTopic("rooms");
  return core.getRooms();
}

/** One room of the list (also a public room not joined), live. */
export function useRoom(roomId: number): RoomEntry | undefined {
  useTopic("rooms");
  return core.getRoom(roomId);
}

/** A room's messages, oldest first, with the pending and failed sends at the end. */
export function useTimeline(roomId: number): Timeline {
  useTopic(`timeline:${roomId}`);
  useEffect(() => core.view(roomId), [roomId]);
  return core.getTimeline(roomId);
}

/** Who else is typing in the room now. */
export function useTyping(roomId: number): S["UserRef"][] {
  useTopic(`typing:${roomId}`);
  useEffect(() => core.ensureMembers(roomId), [roomId]);
  return core.getTyping(roomId);
}

/** Presence of these users: fetched once, then live. */
export function usePresence(userIds: number[]): Map<number, S["PresenceInfo"]> {
  const version = useTopic("presence");
  const key = [...new Set(userIds)].sort((a, b) => a - b).join(",");
  useEffect(() => {
    if (key) core.wantPresence(key.split(",").map(Number));
  }, [key]);
  return useMemo(() => {
    const map = new Map<number, S["PresenceInfo"]>();
    if (!key) return map;
    for (const id of key.split(",").map(Number)) {
      const info = core.presence.get(id);
      if (info) map.set(id, info);
    }
    return map;
    // `version` changes whenever presence does
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, version]);
}

/** Members' read watermarks (user id → last read seq), live. */
export function useReadMarkers(roomId: number): Map<number, number> {
  const version = useTopic(`members:${roomId}`);
  useEffect(() => core.ensureMembers(roomId), [roomId]);
  return useMemo(
    () => new Map(core.getMembers(roomId).map((m) => [m.user.id, m.last_read_seq])),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [roomId, version],
  );
}

/** Unread notifications (the bell), live. */
export function useUnreadNotifications(): number {
  useTopic("notifications");
  return core.getUnreadNotifications();
}

/** A room's members, live (joined, left, roles, read watermarks). */
export function useMembers(roomId: number): { members: S["Member"][]; reload(): void } {
  useTopic(`members:${roomId}`);
  useEffect(() => core.ensureMembers(roomId), [roomId]);
  const reload = useCallback(() => void core.loadMembers(roomId), [roomId]);
  return { members: core.getMembers(roomId), reload };
}

export const chat = {
  /** Queues a message (shown as pending at once) and returns its client id. */
  send: (roomId: number, draft: Draft): string => core.sendMessage(roomId, draft),
  retry: (clientId: string): void => core.retry(clientId),
  discard: (clientId: string): void => core.discard(clientId),
  edit: (messageId: number, body: string): Promise<void> => core.edit(messageId, body),
  remove: (messageId: number): Promise<void> => core.remove(messageId),
  react: (messageId: number, emoji: string): Promise<boolean> => core.react(messageId, emoji),
  typing: (roomId: number, active: boolean): void => core.sendTyping(roomId, active),
  markRead: (roomId: number, seq: number): void => core.markRead(roomId, seq),
  onEvent: (listener: (e: LiveEvent) => void): (() => void) => core.onEvent(listener),
};
