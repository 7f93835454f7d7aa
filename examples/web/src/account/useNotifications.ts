// The notifications page's list: pages from `GET /v1/notifications` (newest first), new ones
// prepended live from `notification` events, read marks applied from `notifications.read`
// (from this device, another one, or reading the conversation).
import { useCallback, useEffect, useRef, useState } from "react";
import { api, errorText, unwrap, type S } from "../api/client";
import { chat } from "../realtime";

const PAGE = 30;

export interface NotificationList {
  items: S["Notification"][];
  loading: boolean;
  error: string | undefined;
  hasMore: boolean;
  loadMore: () => Promise<void>;
  markRead: (id: number) => Promise<void>;
  markAllRead: () => Promise<void>;
}

export function useNotifications(): NotificationList {
  const [items, setItems] = useState<S["Notification"][]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string>();
  const loadingRef = useRef(false);

  const apply = useCallback((result: { page: S["NotificationPage"] } | { error: unknown }) => {
    if ("page" in result) {
      const { items: page, next: after } = result.page;
      setItems((old) => merge(old, page));
      setNext(after ?? null);
      setError(undefined);
    } else {
      setError(errorText(result.error));
    }
    loadingRef.current = false;
    setLoading(false);
  }, []);

  const fetchPage = useCallback(
    (before: number | null) =>
      unwrap(api.GET("/v1/notifications", { params: { query: before == null ? { limit: PAGE } : { limit: PAGE, before } } })).then(
        (page) => ({ page }),
        (error: unknown) => ({ error }),
      ),
    [],
  );

  useEffect(() => {
    let live = true;
    loadingRef.current = true;
    void fetchPage(null).then((result) => live && apply(result));
    return () => {
      live = false;
    };
  }, [fetchPage, apply]);

  useEffect(
    () =>
      chat.onEvent((event) => {
        if (event.type === "notification") {
          setItems((old) => merge(old, [event.notification]));
        } else if (event.type === "notifications.read") {
          const ids = new Set(event.ids);
          setItems((old) => old.map((n) => (event.all || ids.has(n.id) ? { ...n, read: true } : n)));
        }
      }),
    [],
  );

  const markRead = useCallback(async (id: number) => {
    await unwrap(api.POST("/v1/notifications/{notification_id}/read", { params: { path: { notification_id: id } } }));
    setItems((old) => old.map((n) => (n.id === id ? { ...n, read: true } : n)));
  }, []);

  const markAllRead = useCallback(async () => {
    await unwrap(api.POST("/v1/notifications/read-all"));
    setItems((old) => old.map((n) => (n.read ? n : { ...n, read: true })));
  }, []);

  const loadMore = useCallback(async () => {
    if (loadingRef.current) return;
    loadingRef.current = true;
    setLoading(true);
    apply(await fetchPage(next));
  }, [fetchPage, apply, next]);

  return { items, loading, error, hasMore: next != null, loadMore, markRead, markAllRead };
}

/** Both lists together, each notification once, newest first. */
function merge(a: S["Notification"][], b: S["Notification"][]): S["Notification"][] {
  const byId = new Map<number, S["Notification"]>();
  for (const n of [...a, ...b]) byId.set(n.id, n);
  return [...byId.values()].sort((x, y) => y.id - x.id);
}
