import createClient from "openapi-fetch";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import type { paths } from "../api/schema";
import { EXPIRED } from "./core";
import { authMiddleware } from "./middleware";
import { fakeBrowser, fakeServer } from "./testing";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

async function setup() {
  const server = fakeServer();
  const tab = fakeBrowser(server).openTab();
  const login = tab.login("alice", "pw");
  await vi.advanceTimersByTimeAsync(50);
  await login;
  const client = createClient<paths>({ baseUrl: "http://api.test", fetch: server.fetch });
  client.use(authMiddleware(tab, server.fetch));
  return { server, tab, client };
}

it("sends the access token on API calls", async () => {
  const { server, client } = await setup();
  const answer = client.GET("/v1/rooms");
  await vi.advanceTimersByTimeAsync(100);
  expect((await answer).response.status).toBe(200);
  expect(server.apiCalls).toBe(1);
});

it("concurrent 401s share one refresh, and each call is retried once with the new token", async () => {
  const { server, tab, client } = await setup();
  const old = tab.currentToken();
  server.valid = "revoked"; // the server no longer takes the token this tab holds
  const answers = Promise.all([client.GET("/v1/rooms"), client.GET("/v1/rooms"), client.GET("/v1/rooms")]);
  await vi.advanceTimersByTimeAsync(500);
  expect((await answers).map((a) => a.response.status)).toEqual([200, 200, 200]);
  expect(server.refreshes()).toHaveLength(1);
  expect(server.apiCalls).toBe(6);
  expect(tab.currentToken()).not.toBe(old);
});

it("a refused refresh signs out, and the call answers its 401", async () => {
  const { server, tab, client } = await setup();
  server.valid = "revoked";
  server.refreshStatus = 401;
  const answer = client.GET("/v1/rooms");
  await vi.advanceTimersByTimeAsync(500);
  expect((await answer).response.status).toBe(401);
  expect(server.apiCalls).toBe(1);
  expect(tab.getState()).toEqual({ status: "signed-out", reason: EXPIRED });
});
