// Notifications through the browser: the live bell, the list, marking read, click-through.
import { expect, shot, test } from "./fixtures";
import { callAs } from "./helpers";
import { navbar } from "./account-helpers";

test("a direct message raises the bell live; marking it read lowers it (Test Flow: notifications)", async ({ server, newUser, signIn }) => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const b = await signIn(bob);
  await expect(navbar(b).getByRole("link", { name: "Notifications", exact: true })).toBeVisible();

  // Alice writes to Bob (set up over REST: what is tested is Bob's side).
  const room = await callAs<{ id: number }>(server, alice, "POST", `/v1/direct/${bob.id}`);
  const send = (body: string) =>
    callAs<{ id: number }>(server, alice, "POST", `/v1/rooms/${room.id}/messages`, { body, client_id: `c${Date.now()}${body.length}` });
  await send("first: are you there?");
  await expect(navbar(b).getByRole("link", { name: "Notifications, 1 unread" })).toBeVisible();
  await send("second: hello again");
  await expect(navbar(b).getByRole("link", { name: "Notifications, 2 unread" })).toBeVisible();

  await navbar(b).getByRole("link", { name: "Notifications, 2 unread" }).click();
  const list = b.getByRole("list", { name: "Notifications" });
  await expect(list.getByRole("listitem")).toHaveCount(2);
  await expect(list.getByRole("link", { name: new RegExp(`Unread: ${alice.username} sent you a direct message$`) })).toHaveCount(2);
  await shot(b, "notifications");

  await list.getByRole("button", { name: /^Mark read/ }).first().click();
  await expect(navbar(b).getByRole("link", { name: "Notifications, 1 unread" })).toBeVisible();
  await expect(list.getByRole("button", { name: /^Mark read/ })).toHaveCount(1);

  // A new one arrives at the top of the open list.
  await send("third: live");
  await expect(list.getByRole("listitem")).toHaveCount(3);
  await expect(navbar(b).getByRole("link", { name: "Notifications, 2 unread" })).toBeVisible();

  await b.getByRole("button", { name: "Mark all read" }).click();
  await expect(navbar(b).getByRole("link", { name: "Notifications", exact: true })).toBeVisible();
  await expect(list.getByRole("button", { name: /^Mark read/ })).toHaveCount(0);
});

test.describe("a notification's link", () => {
  test.use({ serverArgs: ["--send-rate", "100000", "--send-burst", "100000"] });

  test("a mention opens the room at the message, even when newer ones fill the screen", async ({ server, newUser, signIn }) => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const room = await callAs<{ id: number }>(server, alice, "POST", "/v1/rooms", { name: `r${Date.now().toString(36)}`, kind: "public", topic: "" });
    await callAs(server, bob, "POST", `/v1/rooms/${room.id}/join`);
    const b = await signIn(bob);
    await navbar(b).getByRole("link", { name: "Notifications", exact: true }).click();
    await expect(b.getByText("Nothing yet.")).toBeVisible();

    const message = await callAs<{ id: number }>(server, alice, "POST", `/v1/rooms/${room.id}/messages`, {
      body: `hey @${bob.username}, look`,
      client_id: `m${Date.now()}`,
    });
    const item = b.getByRole("link", { name: new RegExp(`${alice.username} mentioned you in #r`) });
    await expect(item).toBeVisible();
    await expect(navbar(b).getByRole("link", { name: "Notifications, 1 unread" })).toBeVisible();
    // Enough newer messages that the mention is off screen at the bottom of the room.
    for (let i = 1; i <= 30; i++) {
      await callAs(server, alice, "POST", `/v1/rooms/${room.id}/messages`, { body: `filler ${i}`, client_id: `f${i}-${Date.now()}` });
    }
    await item.click();
    await expect(b).toHaveURL(new RegExp(`/rooms/${room.id}\\?message=${message.id}$`));
    await expect(b.getByText(`hey @${bob.username}, look`)).toBeInViewport();
    await expect(navbar(b).getByRole("link", { name: "Notifications", exact: true })).toBeVisible();
  });
});

test("older notifications load on demand; reads on another device show at once", async ({ server, newUser, signIn }) => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const room = await callAs<{ id: number }>(server, alice, "POST", `/v1/direct/${bob.id}`);
  for (let i = 0; i < 35; i += 1) {
    await callAs(server, alice, "POST", `/v1/rooms/${room.id}/messages`, { body: `note ${i}`, client_id: `n${i}` });
  }
  const b = await signIn(bob);
  await navbar(b).getByRole("link", { name: "Notifications, 35 unread" }).click();
  const list = b.getByRole("list", { name: "Notifications" });
  await expect(list.getByRole("listitem")).toHaveCount(30);
  await b.getByRole("button", { name: "Load more" }).click();
  await expect(list.getByRole("listitem")).toHaveCount(35);
  await expect(b.getByRole("button", { name: "Load more" })).toHaveCount(0);

  // Bob marks the newest read on his phone.
  const page = await callAs<{ items: { id: number }[] }>(server, bob, "GET", "/v1/notifications?limit=1");
  await callAs(server, bob, "POST", `/v1/notifications/${page.items[0]!.id}/read`);
  await expect(list.getByRole("button", { name: /^Mark read/ })).toHaveCount(34);
  await expect(navbar(b).getByRole("link", { name: "Notifications, 34 unread" })).toBeVisible();
});
