// The caller's contacts and blocks, as the server keeps them. Blocks follow the `block` event
// (a block made on another device shows here at once); `GET /v1/blocks` is the truth.
import { useCallback, useEffect, useState } from "react";
import { api, errorText, unwrap, type S } from "../api/client";
import { chat } from "../realtime";

interface Loaded<T> {
  items: T[];
  loading: boolean;
  error: string | undefined;
  reload: () => Promise<void>;
}

function useList<T>(fetch: () => Promise<T[]>): Loaded<T> {
  const [items, setItems] = useState<T[]>([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string>();
  const settle = useCallback((result: { items: T[] } | { error: unknown }) => {
    if ("items" in result) {
      setItems(result.items);
      setError(undefined);
    } else {
      setError(errorText(result.error));
    }
    setLoading(false);
  }, []);
  const reload = useCallback(async () => {
    settle(await fetch().then((items) => ({ items }), (error: unknown) => ({ error })));
  }, [fetch, settle]);
  useEffect(() => {
    let live = true;
    fetch().then(
      (items) => live && settle({ items }),
      (error: unknown) => live && settle({ error }),
    );
    return () => {
      live = false;
    };
  }, [fetch, settle]);
  return { items, loading, error, reload };
}

const fetchContacts = () => unwrap(api.GET("/v1/contacts"));
const fetchBlocks = () => unwrap(api.GET("/v1/blocks"));

export interface Contacts extends Loaded<S["Contact"]> {
  has: (userId: number) => boolean;
  add: (userId: number) => Promise<void>;
  remove: (userId: number) => Promise<void>;
}

/** My contacts, with adding and removing (both throw `ApiError`). */
export function useContacts(): Contacts {
  const list = useList(fetchContacts);
  const { reload } = list;
  const add = useCallback(
    async (userId: number) => {
      await unwrap(api.PUT("/v1/contacts/{user_id}", { params: { path: { user_id: userId } } }));
      await reload();
    },
    [reload],
  );
  const remove = useCallback(
    async (userId: number) => {
      await unwrap(api.DELETE("/v1/contacts/{user_id}", { params: { path: { user_id: userId } } }));
      await reload();
    },
    [reload],
  );
  const has = (userId: number) => list.items.some((c) => c.user.id === userId);
  return { ...list, has, add, remove };
}

export interface Blocks extends Loaded<S["UserRef"]> {
  has: (userId: number) => boolean;
  block: (userId: number) => Promise<void>;
  unblock: (userId: number) => Promise<void>;
}

/** The people I block, live, with blocking and unblocking (both throw `ApiError`). */
export function useBlocks(): Blocks {
  const list = useList(fetchBlocks);
  const { reload } = list;
  useEffect(
    () =>
      chat.onEvent((event) => {
        if (event.type === "block") void reload();
      }),
    [reload],
  );
  const block = useCallback(
    async (userId: number) => {
      await unwrap(api.PUT("/v1/blocks/{user_id}", { params: { path: { user_id: userId } } }));
      await reload();
    },
    [reload],
  );
  const unblock = useCallback(
    async (userId: number) => {
      await unwrap(api.DELETE("/v1/blocks/{user_id}", { params: { path: { user_id: userId } } }));
      await reload();
    },
    [reload],
  );
  const has = (userId: number) => list.items.some((u) => u.id === userId);
  return { ...list, has, block, unblock };
}
