// The real-time connection against the real server: a message typed offline is delivered once
// when the network is back, a server restart mid-conversation loses nothing, and chat works
// over the SSE fallback when WebSockets are blocked.
import { expect, shot, test, type Page } from "./fixtures";
import { callAs, createRoom, message, openRoom, say } from "./helpers";

/** `text` shows exactly once, sent, on every page; checked after a later message arrived. */
async function expectOnce(pages: Page[], room: string, text: string, later: string) {
  for (const page of pages) {
    await expect(message(page, room, later)).toHaveCount(1);
    await expect(message(page, room, text)).toHaveCount(1);
    await expect(message(page, room, text).getByText("Sending…")).toHaveCount(0);
  }
}

test("a message sent while offline is delivered exactly once when the network is back", async ({ server, newUser, signIn }) => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  await createRoom(server, alice, "family", [bob]);
  const a = await signIn(alice);
  const b = await signIn(bob);
  await openRoom(a, "family");
  await openRoom(b, "family");
  await say(a, "Online first");
  await expect(message(b, "family", "Online first")).toBeVisible();

  await a.context().setOffline(true);
  await expect(a.getByRole("status").filter({ hasText: "Offline — messages will be sent when the connection is back" })).toBeVisible();
  await say(a, "Typed on the train");
  await expect(message(a, "family", "Typed on the train").getByText("Sending…")).toBeVisible();
  await shot(a, "offline-pending");
  await expect(message(b, "family", "Typed on the train")).toHaveCount(0);

  await a.context().setOffline(false);
  await expect(message(b, "family", "Typed on the train")).toBeVisible();
  await expect(a.getByRole("status").filter({ hasText: "Offline" })).toHaveCount(0);
  await say(b, "Welcome back");
  await expectOnce([a, b], "family", "Typed on the train", "Welcome back");
});

test("a server restart in the middle of a conversation loses nothing", async ({ server, newUser, signIn }) => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const { id: room } = await createRoom(server, alice, "family", [bob]);
  const a = await signIn(alice);
  const b = await signIn(bob);
  await openRoom(a, "family");
  await openRoom(b, "family");
  await say(a, "Before the restart");
  await expect(message(b, "family", "Before the restart")).toBeVisible();

  await server.restart();
  // Posted before the pages are back: they get it by resuming.
  await callAs(server, bob, "POST", `/v1/rooms/${room}/messages`, { body: "While they reconnect", client_id: "e2e-restart-1" });
  await say(a, "Right after the restart");

  await expect(message(b, "family", "Right after the restart")).toBeVisible();
  await expect(message(a, "family", "While they reconnect")).toBeVisible();
  await say(b, "All here");
  await expectOnce([a, b], "family", "Before the restart", "All here");
  await expectOnce([a, b], "family", "While they reconnect", "All here");
  await expectOnce([a, b], "family", "Right after the restart", "All here");
});

test("chat works over SSE when WebSockets are blocked", async ({ browser, server, newUser, signIn }) => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  await createRoom(server, alice, "family", [bob]);

  const context = await browser.newContext({ baseURL: server.url });
  const a = await context.newPage();
  // Every WebSocket to the server is closed at once, as by a proxy that does not carry them.
  await a.routeWebSocket(/\/v1\/ws/, (ws) => ws.close());
  await a.goto("/login");
  await a.getByLabel("Username or email").fill(alice.username);
  await a.getByLabel("Password", { exact: true }).fill(alice.password);
  await a.getByRole("button", { name: "Sign in" }).click();
  await expect(a.getByRole("status").filter({ hasText: "Live updates over SSE" })).toBeVisible();

  const b = await signIn(bob);
  await openRoom(a, "family");
  await openRoom(b, "family");
  await say(a, "Hello over SSE");
  await expect(message(b, "family", "Hello over SSE")).toBeVisible();
  await say(b, "Heard you");
  await expect(message(a, "family", "Heard you")).toBeVisible();
  await expectOnce([a, b], "family", "Hello over SSE", "Heard you");
  await context.close();
});

test("tabs share one session: a new tab needs no login, sign-out and sign-in follow in every tab", async ({ server, newUser, signIn }) => {
  const alice = await newUser("alice");
  const first = await signIn(alice);
  const second = await first.context().newPage();
  const refreshes: string[] = [];
  second.on("request", (request) => {
    if (request.url().endsWith("/v1/auth/refresh")) refreshes.push(request.url());
  });
  await second.goto(`${server.url}/`);
  await expect(second.getByRole("navigation", { name: "Conversations" })).toBeVisible();
  // the new tab took the running tab's access token instead of rotating the refresh cookie
  expect(refreshes).toEqual([]);

  await first.getByRole("button", { name: alice.username }).click();
  await first.getByRole("button", { name: "Sign out" }).click();
  await expect(first.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await expect(second.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await second.reload();
  await expect(second.getByRole("heading", { name: "Sign in" })).toBeVisible();

  await second.getByLabel("Username or email").fill(alice.username);
  await second.getByLabel("Password", { exact: true }).fill(alice.password);
  await second.getByRole("button", { name: "Sign in" }).click();
  await expect(second.getByRole("navigation", { name: "Conversations" })).toBeVisible();
  await expect(first.getByRole("navigation", { name: "Conversations" })).toBeVisible();
});

test("a password changed on another device signs the browser out, saying why", async ({ server, newUser, signIn }) => {
  const alice = await newUser("alice");
  const page = await signIn(alice);
  await expect(page.getByRole("navigation", { name: "Conversations" })).toBeVisible();
  await callAs(server, alice, "POST", "/v1/me/password", { current_password: alice.password, new_password: "another horse battery" });
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await expect(page.getByText("Your password was changed on another device. Please sign in again.")).toBeVisible();
});
