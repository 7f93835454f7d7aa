// Test doubles for the session: a server answering the auth calls, and a browser whose tabs
// share the cross-tab lock and the broadcast channel.
import { vi } from "vitest";
import type { S } from "../api/client";
import { SessionCore, type SessionDeps, type SessionMessage } from "./core";

export const ACCOUNT: S["Account"] = { id: 1, username: "alice", display_name: "", avatar: null, bio: "", created_at: 0, email: "a@example.test" };
export const LIFETIME_S = 900;

let issued = 0;
/** A JWT-shaped access token valid for `LIFETIME_S` from now. */
export function jwt(): string {
  const iat = Math.floor(Date.now() / 1000);
  const payload = btoa(JSON.stringify({ sub: "1", iat, exp: iat + LIFETIME_S, n: ++issued })).replace(/=+$/, "");
  return `eyJ0eXAiOiJKV1QifQ.${payload}.sig`;
}

function tokens(): S["Tokens"] {
  // The cookie flow: no refresh token in the body.
  return { access_token: jwt(), access_expires_at: Date.now() + LIFETIME_S * 1000, refresh_token: "", refresh_expires_at: 0 };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

interface Call {
  url: string;
  init: RequestInit | undefined;
}

/** The server of the test: answers refreshes as `refreshStatus` says. */
export function fakeServer() {
  const calls: Call[] = [];
  const server = {
    calls,
    refreshStatus: 200,
    /** The one access token the API accepts: the last one handed out. */
    valid: null as string | null,
    apiCalls: 0,
    refreshes: () => calls.filter((c) => c.url === "/v1/auth/refresh"),
    fetch: vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      calls.push({ url, init });
      // answers take a moment, like a network
      await new Promise((resolve) => setTimeout(resolve, 20));
      const issue = () => {
        const t = tokens();
        server.valid = t.access_token;
        return t;
      };
      if (url === "/v1/auth/login") return json(200, { account: ACCOUNT, tokens: issue() });
      if (url === "/v1/auth/refresh") {
        return server.refreshStatus === 200 ? json(200, issue()) : json(server.refreshStatus, { code: "invalid_token", message: "no" });
      }
      if (url === "/v1/me") return json(200, ACCOUNT);
      if (url.endsWith("/v1/rooms")) {
        server.apiCalls++;
        const bearer = input instanceof Request ? input.headers.get("authorization") : null;
        return bearer === `Bearer ${server.valid}` ? json(200, []) : json(401, { code: "token_expired", message: "expired" });
      }
      if (url === "/v1/auth/logout") return new Response(null, { status: 204 });
      return json(404, { code: "unknown_route", message: "?" });
    }),
  };
  return server;
}

/** One browser: tabs share the cross-tab lock and the broadcast channel. */
export function fakeBrowser(server: ReturnType<typeof fakeServer>) {
  const tabs: SessionCore[] = [];
  const posted: SessionMessage[] = [];
  let chain: Promise<unknown> = Promise.resolve();
  let requests = 0;
  const withLock = <T,>(fn: (waited: boolean) => Promise<T>): Promise<T> => {
    const waited = requests > 0;
    requests++;
    const run = chain.then(async () => {
      try {
        return await fn(waited);
      } finally {
        requests--;
      }
    });
    chain = run.catch(() => undefined);
    return run;
  };
  const openTab = () => {
    const deps: SessionDeps = {
      fetch: server.fetch,
      now: () => Date.now(),
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      withLock,
      post: (message) => {
        posted.push(message);
        // delivered to the other tabs a little later
        setTimeout(() => {
          for (const other of tabs) if (other !== tab) other.receive(structuredClone(message));
        }, 5);
      },
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    };
    const tab = new SessionCore(deps);
    tabs.push(tab);
    return tab;
  };
  return { openTab, posted };
}

