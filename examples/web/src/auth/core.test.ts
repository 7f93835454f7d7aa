import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { EXPIRED, PASSWORD_CHANGED } from "./core";
import { ACCOUNT, LIFETIME_S, fakeBrowser, fakeServer } from "./testing";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

async function signedInTab() {
  const server = fakeServer();
  const browser = fakeBrowser(server);
  const tab = browser.openTab();
  const login = tab.login("alice", "pw");
  await vi.advanceTimersByTimeAsync(50);
  await login;
  return { server, browser, tab };
}

describe("session", () => {
  it("signs in asking for the refresh cookie, keeping the token in memory", async () => {
    const { server, tab } = await signedInTab();
    const body = JSON.parse(server.calls[0]?.init?.body as string) as Record<string, unknown>;
    expect(body).toEqual({ login: "alice", password: "pw", refresh_cookie: true });
    expect(tab.getState()).toEqual({ status: "signed-in", me: ACCOUNT });
    expect(tab.currentToken()).toMatch(/^eyJ/);
  });

  it("refreshes by cookie a minute before the access token expires", async () => {
    const { server, tab } = await signedInTab();
    const first = tab.currentToken();
    await vi.advanceTimersByTimeAsync((LIFETIME_S - 60) * 1000 - 100);
    expect(server.refreshes()).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(200);
    expect(server.refreshes()).toHaveLength(1);
    const init = server.refreshes()[0]?.init;
    expect(init?.body).toBe("{}");
    expect((init?.headers as Record<string, string>)["x-jeco-csrf"]).toBe("1");
    await vi.advanceTimersByTimeAsync(50);
    expect(tab.currentToken()).not.toBe(first);
    // and again before the new one expires
    await vi.advanceTimersByTimeAsync((LIFETIME_S - 60) * 1000);
    expect(server.refreshes()).toHaveLength(2);
  });

  it("refreshes once for many concurrent 401s", async () => {
    const { server, tab } = await signedInTab();
    const stale = tab.currentToken();
    const all = Promise.all([tab.refresh(stale), tab.refresh(stale), tab.refresh(stale)]);
    await vi.advanceTimersByTimeAsync(100);
    expect(await all).toEqual([true, true, true]);
    expect(server.refreshes()).toHaveLength(1);
    expect(tab.currentToken()).not.toBe(stale);
    // a 401 for the old token after the refresh takes the new one without refreshing again
    const late = tab.refresh(stale);
    await vi.advanceTimersByTimeAsync(100);
    expect(await late).toBe(true);
    expect(server.refreshes()).toHaveLength(1);
  });

  it("signs out, with a reason, when the refresh is refused", async () => {
    const { server, browser, tab } = await signedInTab();
    server.refreshStatus = 401;
    const refreshed = tab.refresh(tab.currentToken());
    await vi.advanceTimersByTimeAsync(100);
    expect(await refreshed).toBe(false);
    expect(tab.getState()).toEqual({ status: "signed-out", reason: EXPIRED });
    expect(browser.posted).toContainEqual({ t: "signed-out", reason: EXPIRED });
    await expect(tab.accessToken()).rejects.toMatchObject({ code: "unauthenticated" });
  });

  it("keeps the session through a network failure of the refresh", async () => {
    const { server, tab } = await signedInTab();
    server.fetch.mockRejectedValueOnce(new TypeError("offline"));
    const refreshed = tab.refresh(tab.currentToken());
    await vi.advanceTimersByTimeAsync(100);
    expect(await refreshed).toBe(false);
    expect(tab.getState().status).toBe("signed-in");
  });

  it("two tabs needing a refresh at once refresh once; the other takes the new token", async () => {
    const { server, browser, tab } = await signedInTab();
    const other = browser.openTab();
    const started = other.start(); // asks the signed-in tab, which answers on the channel
    await vi.advanceTimersByTimeAsync(200);
    await started;
    expect(other.getState()).toEqual({ status: "signed-in", me: ACCOUNT });
    expect(server.refreshes()).toHaveLength(0);

    const token = tab.currentToken();
    expect(other.currentToken()).toBe(token);
    const both = Promise.all([tab.refresh(token), other.refresh(token)]);
    await vi.advanceTimersByTimeAsync(500);
    expect(await both).toEqual([true, true]);
    // the refresh token rotates: a second concurrent refresh would have been refused
    expect(server.refreshes()).toHaveLength(1);
    expect(other.currentToken()).toBe(tab.currentToken());
    expect(other.currentToken()).not.toBe(token);
  });

  it("a tab starting without a cookie is signed out without signing out the others", async () => {
    const server = fakeServer();
    server.refreshStatus = 401;
    const browser = fakeBrowser(server);
    const tab = browser.openTab();
    const started = tab.start();
    await vi.advanceTimersByTimeAsync(500);
    await started;
    expect(tab.getState()).toEqual({ status: "signed-out" });
    expect(browser.posted.filter((m) => m.t === "signed-out")).toEqual([]);
  });

  it("logout revokes the cookie with the CSRF header and tells the other tabs", async () => {
    const { server, browser, tab } = await signedInTab();
    const done = tab.logout();
    await vi.advanceTimersByTimeAsync(50);
    await done;
    const call = server.calls.find((c) => c.url === "/v1/auth/logout");
    expect(call?.init?.body).toBe("{}");
    expect((call?.init?.headers as Record<string, string>)["x-jeco-csrf"]).toBe("1");
    expect(tab.getState()).toEqual({ status: "signed-out" });
    expect(browser.posted).toContainEqual({ t: "signed-out" });
  });

  it("a signed_out event signs out, except right after this tab changed the password", async () => {
    const { tab } = await signedInTab();
    tab.notePasswordChange();
    tab.signedOutEvent("password_changed");
    expect(tab.getState().status).toBe("signed-in");
    await vi.advanceTimersByTimeAsync(60_000);
    tab.signedOutEvent("password_changed");
    expect(tab.getState()).toEqual({ status: "signed-out", reason: PASSWORD_CHANGED });
  });
});
