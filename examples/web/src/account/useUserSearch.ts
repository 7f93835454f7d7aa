import { useEffect, useState } from "react";
import { api, errorText, unwrap, type S } from "../api/client";

const DEBOUNCE_MS = 300;
const LIMIT = 20;

export interface Search {
  results: S["UserRef"][];
  searching: boolean;
  error: string | undefined;
  /** The query the results are for ("" before any search). */
  query: string;
}

/**
 * People whose username starts with `text`, or whose email is exactly `text` (the server's
 * rule), looked up once typing pauses.
 */
export function useUserSearch(text: string): Search {
  const q = text.trim();
  const [state, setState] = useState<Search>({ results: [], searching: false, error: undefined, query: "" });
  useEffect(() => {
    if (!q) return;
    let live = true;
    const timer = window.setTimeout(() => {
      setState((s) => ({ ...s, searching: true }));
      unwrap(api.GET("/v1/users/search", { params: { query: { q: q.slice(0, 254), limit: LIMIT } } }))
        .then((results) => live && setState({ results, searching: false, error: undefined, query: q }))
        .catch((e: unknown) => live && setState({ results: [], searching: false, error: errorText(e), query: q }));
    }, DEBOUNCE_MS);
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [q]);
  return q ? state : { results: [], searching: false, error: undefined, query: "" };
}
