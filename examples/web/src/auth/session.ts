// The signed-in session of this tab: `SessionCore` bound to the browser (fetch, Web Locks,
// BroadcastChannel), the auth middleware of the REST client, and the React hooks.
import { useSyncExternalStore } from "react";
import { api, unwrap, type S } from "../api/client";
import { SessionCore, type SessionDeps, type SessionMessage, type SessionState } from "./core";
import { authMiddleware } from "./middleware";

export type { SessionState } from "./core";

const channel = typeof BroadcastChannel === "undefined" ? null : new BroadcastChannel("jeco-session");

async function withLock<T>(fn: (waited: boolean) => Promise<T>): Promise<T> {
  const locks = typeof navigator === "undefined" ? undefined : navigator.locks;
  if (!locks) return fn(false);
  let result: { value: T } | null = null;
  await locks.request("jeco-refresh", { ifAvailable: true }, async (lock) => {
    if (lock) result = { value: await fn(false) };
  });
  if (result !== null) return (result as { value: T }).value;
  return locks.request("jeco-refresh", () => fn(true));
}

const deps: SessionDeps = {
  fetch: (input, init) => fetch(input, init),
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  withLock,
  post: (message) => channel?.postMessage(message),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

const core = new SessionCore(deps);
if (channel) channel.onmessage = (event: MessageEvent<SessionMessage>) => core.receive(event.data);

// Every REST call but the auth ones carries the access token; a 401 refreshes it once and retries.
api.use(authMiddleware(core, (request) => fetch(request)));

if (typeof window !== "undefined") void core.start();

/** The session state, live. */
export function useSession(): SessionState {
  return useSyncExternalStore(core.subscribe, core.getState);
}

/** The signed-in account; only for components under the signed-in shell. */
export function useMe(): S["Account"] {
  const state = useSession();
  if (state.status !== "signed-in") throw new Error("useMe() outside a signed-in session");
  return state.me;
}

/** The session state now, and its changes (for non-React code such as the real-time store). */
export const session = {
  get: core.getState,
  subscribe: core.subscribe,
  /** A `signed_out` real-time event: sign out here unless this tab changed the password. */
  signedOutEvent: (reason: string) => core.signedOutEvent(reason),
};

/** Signs in; throws `ApiError` (e.g. `invalid_credentials`). */
export async function login(login: string, password: string): Promise<void> {
  await core.login(login, password);
}

/** Creates the account and signs in; throws `ApiError`. */
export async function register(username: string, email: string, password: string): Promise<void> {
  await core.register(username, email, password);
}

/** Revokes the refresh cookie and signs out this tab and the others. */
export async function logout(): Promise<void> {
  await core.logout();
}

/** The account as it is now, after a profile change. */
export function setMe(me: S["Account"]): void {
  core.setMe(me);
}

/** Changes the password: every other login is signed out, this one continues with new tokens. */
export async function changePassword(current: string, next: string): Promise<void> {
  core.notePasswordChange();
  const tokens = await unwrap(api.POST("/v1/me/password", { body: { current_password: current, new_password: next, refresh_cookie: true } }));
  core.adoptAfterPasswordChange(tokens);
}

/** A valid access token, refreshed if needed; throws `ApiError` when signed out. */
export async function accessToken(): Promise<string> {
  return core.accessToken();
}

/** An opened XMLHttpRequest carrying the access token (for uploads with progress). */
export async function authorizedXhr(method: string, url: string): Promise<XMLHttpRequest> {
  const token = await core.accessToken();
  const xhr = new XMLHttpRequest();
  xhr.open(method, url);
  xhr.setRequestHeader("authorization", `Bearer ${token}`);
  return xhr;
}
