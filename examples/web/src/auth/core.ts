// The session logic without React or browser globals: the access token (in memory only), the
// refresh cookie flow, proactive and on-demand refreshes (one at a time, across tabs) and the
// signed-in state. `session.ts` binds it to the browser; the tests drive it with fakes.
import { ApiError, toApiError, type S } from "../api/client";

export type SessionState =
  | { status: "loading" }
  | { status: "signed-out"; reason?: string }
  | { status: "signed-in"; me: S["Account"] };

/** What tabs tell each other on the `jeco-session` channel. */
export type SessionMessage =
  | { t: "session"; token: string; expiresAt: number; account: S["Account"]; passwordChanged: boolean }
  | { t: "signed-out"; reason?: string }
  | { t: "me"; account: S["Account"] }
  | { t: "query" };

export interface SessionDeps {
  fetch: typeof fetch;
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  /** Runs `fn` holding the cross-tab refresh lock; `waited` says whether another tab held it. */
  withLock<T>(fn: (waited: boolean) => Promise<T>): Promise<T>;
  /** Posts to the other tabs (not to this one). */
  post(message: SessionMessage): void;
  /** Resolves after `ms`. */
  sleep(ms: number): Promise<void>;
}

export const EXPIRED = "Your session has expired. Please sign in again.";
export const PASSWORD_CHANGED = "Your password was changed on another device. Please sign in again.";
export const PASSWORD_RESET = "Your password was reset. Please sign in again.";

/** How long before its expiry an access token is refreshed (at most a fifth of its lifetime). */
const REFRESH_MARGIN_MS = 60_000;
/** A token closer than this to its expiry is refreshed before use. */
const MIN_VALIDITY_MS = 10_000;
/** After waiting for another tab's refresh, how long its broadcast may take to arrive. */
const BROADCAST_GRACE_MS = 150;
/** A `signed_out` event this soon after a password change made here is that change's own. */
const OWN_PASSWORD_CHANGE_MS = 15_000;

interface Token {
  value: string;
  /** When it stops working, by this machine's clock. */
  expiresAt: number;
}

/** Tokens with the refresh token in the body (older flow) or in the cookie (`CookieTokens`). */
type Tokens = S["TokensAnswer"] & { expires_in?: number };

/** The token's lifetime from its own `iat`/`exp` (immune to clock skew), else from the answer. */
export function tokenLifetimeMs(tokens: Tokens, now: number): number {
  if (typeof tokens.expires_in === "number") return tokens.expires_in * 1000;
  const payload = tokens.access_token.split(".")[1];
  if (payload) {
    try {
      const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as { iat?: unknown; exp?: unknown };
      if (typeof claims.iat === "number" && typeof claims.exp === "number" && claims.exp > claims.iat) {
        return (claims.exp - claims.iat) * 1000;
      }
    } catch {
      // not a JWT we can read: use the expiry the server gave
    }
  }
  return Math.max(0, tokens.access_expires_at - now);
}

export class SessionCore {
  private state: SessionState = { status: "loading" };
  private readonly listeners = new Set<() => void>();
  private token: Token | null = null;
  /** Only when the server still hands out the refresh token in the body (no cookie flow). */
  private bodyRefreshToken: string | null = null;
  private inflight: Promise<boolean> | null = null;
  private timer: unknown = null;
  private passwordChangedAt = -Infinity;
  private started: Promise<void> | null = null;

  constructor(private readonly deps: SessionDeps) {}

  getState = (): SessionState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** The current access token, if any, without refreshing. */
  currentToken(): string | null {
    return this.token?.value ?? null;
  }

  /** Startup: adopt another tab's session, or refresh by cookie. */
  start(): Promise<void> {
    this.started ??= (async () => {
      this.deps.post({ t: "query" });
      await this.deps.sleep(BROADCAST_GRACE_MS);
      if (this.state.status !== "loading") return;
      const ok = await this.refresh(null);
      if (!ok && this.state.status === "loading") this.setState({ status: "signed-out" });
    })();
    return this.started;
  }

  async login(login: string, password: string): Promise<void> {
    const session = await this.authPost<S["SessionAnswer"]>("/v1/auth/login", { login, password, refresh_cookie: true });
    this.adopt(session.tokens, session.account, true);
  }

  async register(username: string, email: string, password: string): Promise<void> {
    const session = await this.authPost<S["SessionAnswer"]>("/v1/auth/register", { username, email, password, refresh_cookie: true });
    this.adopt(session.tokens, session.account, true);
  }

  async logout(): Promise<void> {
    const body = this.bodyRefreshToken ? { refresh_token: this.bodyRefreshToken } : {};
    const headers: Record<string, string> = { "content-type": "application/json", "x-jeco-csrf": "1" };
    if (this.token) headers.authorization = `Bearer ${this.token.value}`;
    try {
      await this.deps.fetch("/v1/auth/logout", { method: "POST", headers, body: JSON.stringify(body), credentials: "same-origin" });
    } catch {
      // signed out here anyway; the cookie expires by itself
    }
    this.signOut(undefined, true);
  }

  setMe(me: S["Account"]): void {
    if (this.state.status !== "signed-in") return;
    this.setState({ status: "signed-in", me });
    this.deps.post({ t: "me", account: me });
  }

  /** Before `POST /v1/me/password`: its `signed_out` event may come before its answer. */
  notePasswordChange(): void {
    this.passwordChangedAt = this.deps.now();
  }

  /** After `POST /v1/me/password`: the tokens of this login, the others are signed out. */
  adoptAfterPasswordChange(tokens: S["TokensAnswer"]): void {
    if (this.state.status !== "signed-in") return;
    this.passwordChangedAt = this.deps.now();
    this.adopt(tokens, this.state.me, true, true);
  }

  /** A `signed_out` event: the password was changed or reset elsewhere. */
  signedOutEvent(reason: string): void {
    if (this.deps.now() - this.passwordChangedAt < OWN_PASSWORD_CHANGE_MS) return;
    // Not told to the other tabs: each gets the event on its own connection, and one of them
    // may be the tab that changed the password (whose broadcast may not have arrived here yet).
    this.signOut(reason === "password_reset" ? PASSWORD_RESET : PASSWORD_CHANGED, false);
  }

  /** A valid access token, refreshing first if it is (nearly) expired. */
  async accessToken(): Promise<string> {
    if (this.state.status === "loading") await this.start();
    const token = this.token;
    if (token && token.expiresAt - this.deps.now() > MIN_VALIDITY_MS) return token.value;
    if (this.state.status !== "signed-in") throw new ApiError("unauthenticated", EXPIRED, 401);
    await this.refresh(token?.value ?? null);
    if (!this.token) throw new ApiError("unauthenticated", EXPIRED, 401);
    return this.token.value;
  }

  /**
   * Gets a new access token, one refresh at a time in this tab and across tabs. `stale` is the
   * token the caller found wanting: if another tab replaced it meanwhile, that one is taken.
   * Resolves `false` when no token could be had (signed out when the server refused).
   */
  refresh(stale: string | null): Promise<boolean> {
    if (this.token && this.token.value !== stale && this.token.expiresAt - this.deps.now() > MIN_VALIDITY_MS) {
      return Promise.resolve(true);
    }
    this.inflight ??= this.deps
      .withLock(async (waited) => {
        if (waited) await this.deps.sleep(BROADCAST_GRACE_MS);
        const token = this.token;
        if (token && token.value !== stale && token.expiresAt - this.deps.now() > MIN_VALIDITY_MS) return true;
        return this.refreshNow();
      })
      .finally(() => {
        this.inflight = null;
      });
    return this.inflight;
  }

  /** Handles a message from another tab. */
  receive(message: SessionMessage): void {
    switch (message.t) {
      case "session":
        if (message.passwordChanged) this.passwordChangedAt = this.deps.now();
        this.token = { value: message.token, expiresAt: message.expiresAt };
        this.schedule();
        this.setState({ status: "signed-in", me: message.account });
        break;
      case "signed-out":
        if (this.state.status !== "signed-out") this.signOut(message.reason, false);
        break;
      case "me":
        if (this.state.status === "signed-in") this.setState({ status: "signed-in", me: message.account });
        break;
      case "query":
        if (this.state.status === "signed-in" && this.token) this.broadcastSession(false);
        break;
    }
  }

  private async refreshNow(): Promise<boolean> {
    const body = this.bodyRefreshToken ? { refresh_token: this.bodyRefreshToken } : {};
    let response: Response;
    try {
      response = await this.deps.fetch("/v1/auth/refresh", {
        method: "POST",
        headers: { "content-type": "application/json", "x-jeco-csrf": "1" },
        body: JSON.stringify(body),
        credentials: "same-origin",
      });
    } catch {
      this.scheduleRetry();
      return false;
    }
    if (!response.ok) {
      if (response.status >= 500 || response.status === 429) {
        this.scheduleRetry();
        return false;
      }
      // Refused: the cookie is missing, expired, revoked or already used. Only a tab that was
      // signed in tells the others (a tab starting up may just have no cookie of its own).
      const wasSignedIn = this.state.status === "signed-in";
      this.signOut(wasSignedIn ? EXPIRED : undefined, wasSignedIn);
      return false;
    }
    const tokens = (await response.json()) as Tokens;
    let account: S["Account"];
    if (this.state.status === "signed-in") {
      account = this.state.me;
    } else {
      try {
        const me = await this.deps.fetch("/v1/me", { headers: { authorization: `Bearer ${tokens.access_token}` } });
        if (!me.ok) throw toApiError(await me.json().catch(() => null), me);
        account = (await me.json()) as S["Account"];
      } catch {
        this.signOut(undefined, false);
        return false;
      }
    }
    this.adopt(tokens, account, true);
    return true;
  }

  private async authPost<T>(path: string, body: object): Promise<T> {
    let response: Response;
    try {
      response = await this.deps.fetch(path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        credentials: "same-origin",
      });
    } catch {
      throw new ApiError("network", "The server cannot be reached. Check your connection.", 0);
    }
    const data: unknown = await response.json().catch(() => null);
    if (!response.ok) throw toApiError(data, response);
    return data as T;
  }

  private adopt(tokens: Tokens, account: S["Account"], broadcast: boolean, passwordChanged = false): void {
    const now = this.deps.now();
    this.token = { value: tokens.access_token, expiresAt: now + tokenLifetimeMs(tokens, now) };
    // The cookie flow leaves the body without a refresh token; an older server still sends one.
    if ("refresh_token" in tokens && tokens.refresh_token) this.bodyRefreshToken = tokens.refresh_token;
    this.schedule();
    this.setState({ status: "signed-in", me: account });
    if (broadcast) this.broadcastSession(passwordChanged);
  }

  private broadcastSession(passwordChanged: boolean): void {
    if (!this.token || this.state.status !== "signed-in") return;
    this.deps.post({ t: "session", token: this.token.value, expiresAt: this.token.expiresAt, account: this.state.me, passwordChanged });
  }

  /** Refreshes a little before the token expires. */
  private schedule(): void {
    if (this.timer !== null) this.deps.clearTimer(this.timer);
    this.timer = null;
    const token = this.token;
    if (!token) return;
    const left = token.expiresAt - this.deps.now();
    const margin = Math.min(REFRESH_MARGIN_MS, left / 5);
    this.timer = this.deps.setTimer(() => {
      this.timer = null;
      void this.refresh(token.value);
    }, Math.max(0, left - margin));
  }

  private scheduleRetry(): void {
    if (this.state.status !== "signed-in") return;
    if (this.timer !== null) this.deps.clearTimer(this.timer);
    const stale = this.token?.value ?? null;
    this.timer = this.deps.setTimer(() => {
      this.timer = null;
      void this.refresh(stale);
    }, 15_000);
  }

  private signOut(reason: string | undefined, broadcast: boolean): void {
    this.token = null;
    this.bodyRefreshToken = null;
    if (this.timer !== null) this.deps.clearTimer(this.timer);
    this.timer = null;
    this.setState(reason === undefined ? { status: "signed-out" } : { status: "signed-out", reason });
    if (broadcast) this.deps.post(reason === undefined ? { t: "signed-out" } : { t: "signed-out", reason });
  }

  private setState(state: SessionState): void {
    this.state = state;
    for (const listener of [...this.listeners]) listener();
  }
}
