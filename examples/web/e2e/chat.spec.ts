// The rooms and conversation UI against the real server, with several people in browser
// contexts of their own: the walkthrough's test flows (chat, rooms, history, the room list,
// typing, reactions, files, read receipts) and the rest of a conversation (edit, delete,
// reply, forward, history on scroll).
import { accessTokenFor, expect, expectAccessible, shot, test, type Page } from "./fixtures";
import { callAs, createRoom, message, openRoom, post, say, timeline, type Room } from "./helpers";

test("two people chat in general and each message shows who sent it", async ({ newUser, signIn }) => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  // Everyone is in general from registration on.
  const a = await signIn(alice);
  const b = await signIn(bob);

  await openRoom(a, "general");
  await openRoom(b, "general");
  await say(a, "Hello from Alice");
  await expect(message(b, "general", "Hello from Alice").getByRole("link", { name: alice.username })).toBeVisible();
  await say(b, "Hi Alice, Bob here");
  await expect(message(a, "general", "Hi Alice, Bob here").getByRole("link", { name: bob.username })).toBeVisible();
  await expect(message(a, "general", "Hello from Alice").getByRole("link", { name: alice.username })).toBeVisible();
  await expect(a.getByRole("textbox", { name: "Message" })).toHaveValue("");
  await shot(a, "chat-room");
});

test("three tabs: family syncs live between two, friends stays apart", async ({ server, newUser, signIn }) => {
  const [alice, bob, carol] = [await newUser("alice"), await newUser("bob"), await newUser("carol")];
  await createRoom(server, alice, "family", [bob]);
  await createRoom(server, carol, "friends");
  const tab1 = await signIn(alice);
  const tab2 = await signIn(bob);
  const tab3 = await signIn(carol);
  await openRoom(tab1, "family");
  await openRoom(tab2, "family");
  await openRoom(tab3, "friends");

  await say(tab1, "Dinner at eight");
  await expect(message(tab2, "family", "Dinner at eight")).toBeVisible();
  await say(tab3, "Game night?");
  await expect(message(tab3, "friends", "Game night?")).toBeVisible();
  await say(tab2, "See you there");
  await expect(message(tab1, "family", "See you there")).toBeVisible();

  // Carol is not in family: her tab never shows its messages, nor its room.
  await expect(tab3.getByText("Dinner at eight")).toHaveCount(0);
  await expect(tab3.getByRole("navigation", { name: "Conversations" }).getByRole("link", { name: /^family/ })).toHaveCount(0);
  await expect(tab1.getByText("Game night?")).toHaveCount(0);
  await expect(tab2.getByText("Game night?")).toHaveCount(0);
});

test("history: after a reload the last messages load before new ones", async ({ server, newUser, signIn }) => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const family = await createRoom(server, alice, "family", [bob]);
  const a = await signIn(alice);
  await openRoom(a, "family");
  for (const text of ["one", "two", "three"]) {
    await say(a, `Message ${text}`);
    await expect(message(a, "family", `Message ${text}`)).toBeVisible();
  }

  await a.reload();
  await expect(a.getByRole("heading", { level: 1, name: "family" })).toBeVisible();
  await expect(message(a, "family", "Message one")).toBeVisible();
  await expect(message(a, "family", "Message three")).toBeVisible();
  await post(server, bob, family.id, "A new one after the reload");
  const items = timeline(a, "family").getByRole("listitem");
  await expect(items.last()).toContainText("A new one after the reload");
  await expect(items.nth(-2)).toContainText("Message three");
});

test("room list: existing rooms, joining one shows history and live messages, creating a room", async ({ server, newUser, signIn }) => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const family = await createRoom(server, alice, "family", [], "Everyone at home");
  await createRoom(server, alice, "friends", [], "Weekend plans");
  await post(server, alice, family.id, "Earlier in family");
  const b = await signIn(bob);

  await b.getByRole("link", { name: "Browse rooms" }).first().click();
  const list = b.getByRole("list", { name: "Public rooms" });
  await expect(list.getByRole("listitem").filter({ hasText: "friends" })).toContainText("Weekend plans");
  const familyRow = list.getByRole("listitem").filter({ hasText: "family" });
  await expect(familyRow).toContainText("Everyone at home");
  await expect(familyRow).toContainText("1 member");
  await expect(familyRow).toContainText("New activity");
  await b.getByRole("searchbox", { name: "Filter rooms" }).fill("fri");
  await expect(list.getByRole("listitem")).toHaveCount(1);
  await b.getByRole("searchbox", { name: "Filter rooms" }).fill("");
  await shot(b, "chat-browse-rooms");
  await expectAccessible(b);
  await openRoom(b, "general");
  await b.getByRole("link", { name: "Browse rooms" }).first().click();
  await expect(familyRow).toContainText("Everyone at home");
  await expect(familyRow).not.toContainText("New activity");
  await b.getByRole("button", { name: "Join family" }).click();

  await expect(b.getByRole("heading", { level: 1, name: "family" })).toBeVisible();
  await expect(message(b, "family", "Earlier in family")).toBeVisible();
  await post(server, alice, family.id, "Welcome, Bob");
  await expect(message(b, "family", "Welcome, Bob")).toBeVisible();
  await expect(b.getByRole("navigation", { name: "Conversations" }).getByRole("link", { name: /^family/ })).toBeVisible();

  await b.getByRole("button", { name: "New room" }).click();
  const dialog = b.getByRole("dialog", { name: "New room" });
  await dialog.getByLabel("Name").fill("book-club");
  await dialog.getByLabel("Topic").fill("One chapter a week");
  await dialog.getByRole("button", { name: "Create room" }).click();
  await expect(b.getByRole("heading", { level: 1, name: "book-club" })).toBeVisible();
  await expect(b.getByText("One chapter a week")).toBeVisible();
  await expect(b.getByRole("navigation", { name: "Conversations" }).getByRole("link", { name: /^book-club/ })).toHaveAttribute("aria-current", "page");
  await say(b, "First!");
  await expect(message(b, "book-club", "First!")).toBeVisible();
});

test("typing indicator in a room and in direct messages", async ({ server, newUser, signIn }) => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  await createRoom(server, alice, "family", [bob]);
  await callAs(server, alice, "POST", `/v1/direct/${bob.id}`);
  const a = await signIn(alice);
  const b = await signIn(bob);
  await openRoom(a, "family");
  await openRoom(b, "family");

  const composer = a.getByRole("textbox", { name: "Message" });
  await composer.pressSequentially("Hel");
  await expect(b.getByText(`${alice.username} is typing…`)).toBeVisible();
  await shot(b, "chat-typing");
  await composer.fill("");
  await expect(b.getByText(`${alice.username} is typing…`)).toHaveCount(0);
  await composer.pressSequentially("Hello");
  await expect(b.getByText(`${alice.username} is typing…`)).toBeVisible();
  await composer.press("Enter");
  await expect(message(b, "family", "Hello")).toBeVisible();
  await expect(b.getByText(`${alice.username} is typing…`)).toHaveCount(0);

  // Direct messages: the room is named after the peer.
  await openRoom(a, bob.username);
  await openRoom(b, alice.username);
  await a.getByRole("textbox", { name: "Message" }).pressSequentially("psst");
  await expect(b.getByText(`${alice.username} is typing…`)).toBeVisible();
  await a.getByRole("textbox", { name: "Message" }).press("Enter");
  await expect(message(b, alice.username, "psst")).toBeVisible();
  await expect(b.getByText(`${alice.username} is typing…`)).toHaveCount(0);

  // The header of a direct conversation follows the peer's presence.
  const peer = a.getByRole("heading", { level: 1, name: bob.username });
  await expect(peer).toHaveAccessibleDescription("Online");
  await b.context().close();
  await expect(peer).toHaveAccessibleDescription(/^Last seen/);
});

test("reactions: live, toggled off by a second click, several people and emoji", async ({ server, newUser, signIn }) => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const carol = await newUser("carol");
  await createRoom(server, alice, "family", [bob, carol]);
  const a = await signIn(alice);
  const b = await signIn(bob);
  const c = await signIn(carol);
  for (const page of [a, b, c]) await openRoom(page, "family");
  await say(a, "Pizza tonight?");

  const onB = message(b, "family", "Pizza tonight?");
  await onB.getByRole("button", { name: "Add reaction" }).click();
  await b.getByRole("button", { name: "React with 👍" }).click();
  const thumbOnA = message(a, "family", "Pizza tonight?").getByRole("button", { name: /^👍 1/ });
  await expect(thumbOnA).toBeVisible();
  await expect(thumbOnA).toHaveAttribute("aria-pressed", "false");
  await expect(thumbOnA).toHaveAttribute("title", `👍 by ${bob.username}`);
  await expect(onB.getByRole("button", { name: /^👍 1/ })).toHaveAttribute("aria-pressed", "true");

  await onB.getByRole("button", { name: /^👍 1/ }).click();
  await expect(message(a, "family", "Pizza tonight?").getByRole("button", { name: /^👍/ })).toHaveCount(0);

  await onB.getByRole("button", { name: "Add reaction" }).click();
  await b.getByRole("button", { name: "React with 👍" }).click();
  const onC = message(c, "family", "Pizza tonight?");
  await onC.getByRole("button", { name: "Add reaction" }).click();
  await c.getByRole("button", { name: "React with ❤️" }).click();
  await expect(onC.getByRole("button", { name: /^👍 1/ })).toBeVisible();
  await onC.getByRole("button", { name: /^👍 1/ }).click();
  const onA = message(a, "family", "Pizza tonight?");
  await expect(onA.getByRole("button", { name: /^👍 2/ })).toBeVisible();
  await expect(onA.getByRole("button", { name: /^❤️ 1/ })).toBeVisible();
  await shot(a, "chat-reactions");
});

/** A PNG drawn by the browser: a gradient, big enough for a real thumbnail. */
async function drawPng(page: Page): Promise<Buffer> {
  const url = await page.evaluate(() => {
    const canvas = document.createElement("canvas");
    canvas.width = 320;
    canvas.height = 200;
    const g = canvas.getContext("2d");
    if (!g) return "";
    const gradient = g.createLinearGradient(0, 0, 320, 200);
    gradient.addColorStop(0, "#d63384");
    gradient.addColorStop(1, "#0d6efd");
    g.fillStyle = gradient;
    g.fillRect(0, 0, 320, 200);
    return canvas.toDataURL("image/png");
  });
  return Buffer.from(url.slice(url.indexOf(",") + 1), "base64");
}

test("file sharing: an image shows inline as a thumbnail, a document as a download link", async ({ server, newUser, signIn }) => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  await createRoom(server, alice, "family", [bob]);
  const a = await signIn(alice);
  const b = await signIn(bob);
  await openRoom(a, "family");
  await openRoom(b, "family");

  const files = a.getByLabel("Files to attach");
  await files.setInputFiles({ name: "red.png", mimeType: "image/png", buffer: await drawPng(a) });
  await expect(a.getByRole("list", { name: "Attached files" })).toContainText("red.png");
  await expect(a.getByRole("button", { name: "Send" })).toBeEnabled();
  await a.getByRole("textbox", { name: "Message" }).fill("A picture");
  await a.getByRole("button", { name: "Send" }).click();
  const picture = message(b, "family", "A picture").getByRole("img", { name: "red.png" });
  await expect(picture).toBeVisible();
  await expect.poll(() => picture.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
  await expect(picture).toHaveAttribute("src", /^blob:/);
  await message(b, "family", "A picture").getByRole("button", { name: "Open image red.png" }).click();
  await expect(b.getByRole("dialog", { name: "red.png" }).getByRole("img", { name: "red.png" })).toBeVisible();
  await b.getByRole("dialog", { name: "red.png" }).getByRole("button", { name: "Close" }).click();

  const pdf = Buffer.from("%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n");
  await files.setInputFiles({ name: "minutes.pdf", mimeType: "application/pdf", buffer: pdf });
  await expect(a.getByRole("button", { name: "Send" })).toBeEnabled();
  await a.getByRole("button", { name: "Send" }).click();
  const link = timeline(b, "family").getByRole("link", { name: /^Download minutes\.pdf/ });
  await expect(link).toBeVisible();
  const download = b.waitForEvent("download");
  await link.click();
  expect((await download).suggestedFilename()).toBe("minutes.pdf");
  await shot(b, "chat-files");

  // Dropped on the conversation, or pasted into the composer, a file is attached too.
  await a.getByRole("region", { name: "family" }).evaluate((el) => {
    const data = new DataTransfer();
    data.items.add(new File(["dropped"], "dropped.txt", { type: "text/plain" }));
    el.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
    el.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
  });
  await a.getByRole("textbox", { name: "Message" }).evaluate((el) => {
    const data = new DataTransfer();
    data.items.add(new File(["pasted"], "pasted.txt", { type: "text/plain" }));
    el.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
  });
  const attached = a.getByRole("list", { name: "Attached files" });
  await expect(attached.getByRole("listitem")).toHaveCount(2);
  await expect(a.getByRole("button", { name: "Send" })).toBeEnabled();
  await a.getByRole("button", { name: "Send" }).click();
  await expect(timeline(b, "family").getByRole("link", { name: /^Download dropped\.txt/ })).toBeVisible();
  await expect(timeline(b, "family").getByRole("link", { name: /^Download pasted\.txt/ })).toBeVisible();

  // Too large: the server refuses it and says so.
  await files.setInputFiles({ name: "huge.bin", mimeType: "application/octet-stream", buffer: Buffer.alloc(10 * 1024 * 1024 + 1) });
  await expect(a.getByRole("list", { name: "Attached files" }).getByRole("alert")).toBeVisible();
  await a.getByRole("button", { name: "Remove huge.bin" }).click();
  await expect(a.getByRole("list", { name: "Attached files" })).toHaveCount(0);
});

test("alerts: activity in a room not joined and a direct message show live, and clear once opened", async ({ server, newUser, signIn }) => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const family = await createRoom(server, bob, "family");
  const a = await signIn(alice);

  // Alice has looked at the public rooms once: what is there now is seen.
  await a.getByRole("link", { name: "Browse rooms" }).first().click();
  const row = a.getByRole("list", { name: "Public rooms" }).getByRole("listitem").filter({ hasText: "family" });
  await expect(row).toBeVisible();
  await openRoom(a, "general");
  await a.getByRole("link", { name: "Browse rooms" }).first().click();
  await expect(row).toBeVisible();
  await expect(row).not.toContainText("New activity");

  // Bob writes in family, which Alice has not joined: her list says so while she looks at it.
  await post(server, bob, family.id, "Anyone home?");
  await expect(row).toContainText("New activity");
  await a.getByRole("button", { name: "Join family" }).click();
  await expect(message(a, "family", "Anyone home?")).toBeVisible();

  // A direct message: a badge beside Bob's name and on the bell, both gone once it is read.
  const direct = await callAs<Room>(server, bob, "POST", `/v1/direct/${alice.id}`);
  await post(server, bob, direct.id, "Psst, Alice");
  const conversations = a.getByRole("navigation", { name: "Conversations" });
  const bobLink = conversations.getByRole("link", { name: new RegExp(`^${bob.username}\\b`) });
  await expect(bobLink.getByRole("img", { name: "1 unread" })).toBeVisible();
  await expect(a.getByRole("link", { name: "Notifications, 1 unread" })).toBeVisible();
  await openRoom(a, bob.username);
  await expect(message(a, bob.username, "Psst, Alice")).toBeVisible();
  await expect(bobLink.getByRole("img", { name: /unread/ })).toHaveCount(0);
  await expect(a.getByRole("link", { name: "Notifications", exact: true })).toBeVisible();
});

test("read receipts: Alice sees that Bob read her message once he opens the room", async ({ server, newUser, signIn }) => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  await createRoom(server, alice, "family", [bob]);
  const a = await signIn(alice);
  const b = await signIn(bob);
  await openRoom(a, "family");
  await say(a, "Did you read this?");
  const mine = message(a, "family", "Did you read this?");
  await expect(mine).toBeVisible();
  await expect(b.getByRole("navigation", { name: "Conversations" }).getByRole("img", { name: "1 unread" })).toBeVisible();
  await expect(mine).not.toContainText("Read by");

  await openRoom(b, "family");
  await expect(message(b, "family", "Did you read this?")).toContainText("New messages");
  await expect(mine).toContainText(`Read by ${bob.username}`);
  await expect(b.getByRole("navigation", { name: "Conversations" }).getByRole("img", { name: /unread/ })).toHaveCount(0);

  // Bob looks elsewhere; back in family, "New messages" marks what came meanwhile.
  await openRoom(b, "general");
  await say(a, "And this one?");
  await expect(b.getByRole("navigation", { name: "Conversations" }).getByRole("img", { name: "1 unread" })).toBeVisible();
  await openRoom(b, "family");
  await expect(message(b, "family", "And this one?")).toContainText("New messages");
  await expect(message(b, "family", "Did you read this?")).not.toContainText("New messages");
  await expect(message(a, "family", "And this one?")).toContainText(`Read by ${bob.username}`);
  await expect(mine).not.toContainText("Read by");
});

test("edit and delete of one's own message are seen live; replies and forwards", async ({ server, newUser, signIn }) => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  await createRoom(server, alice, "family", [bob]);
  await createRoom(server, alice, "friends", [bob]);
  const a = await signIn(alice);
  const b = await signIn(bob);
  await openRoom(a, "family");
  await openRoom(b, "family");
  await say(a, "Meet at 7");

  const mine = message(a, "family", "Meet at 7");
  await mine.getByRole("button", { name: "Message actions" }).click();
  await a.getByRole("button", { name: "Edit" }).click();
  const composer = a.getByRole("textbox", { name: "Message" });
  await expect(composer).toHaveValue("Meet at 7");
  await composer.fill("Meet at 8");
  await composer.press("Enter");
  await expect(message(b, "family", "Meet at 8")).toContainText("(edited)");
  await expect(a).toHaveTitle("family · Jeco Chat");

  // Arrow up in the empty box edits the latest own message; Escape leaves it as it was.
  await composer.press("ArrowUp");
  await expect(composer).toHaveValue("Meet at 8");
  await expect(a.getByRole("button", { name: "Cancel editing" })).toBeVisible();
  await composer.press("Escape");
  await expect(composer).toHaveValue("");
  await expect(a.getByRole("button", { name: "Cancel editing" })).toHaveCount(0);

  // Bob replies, with the keyboard; the quote leads back to the original.
  await message(b, "family", "Meet at 8").getByRole("button", { name: "Message actions" }).focus();
  await b.keyboard.press("Enter");
  await b.keyboard.press("ArrowDown");
  await expect(b.getByRole("button", { name: "Reply" })).toBeFocused();
  await b.keyboard.press("Enter");
  await expect(b.getByRole("button", { name: "Cancel reply" })).toBeVisible();
  await say(b, "Works for me");
  const reply = message(a, "family", "Works for me");
  await reply.getByRole("button", { name: `Reply to ${alice.username}: Meet at 8` }).click();
  await expect(a.locator(":focus")).toContainText("Meet at 8");

  // Alice forwards her message to friends.
  await message(a, "family", "Meet at 8").getByRole("button", { name: "Message actions" }).click();
  await a.getByRole("button", { name: "Forward" }).click();
  const dialog = a.getByRole("dialog", { name: "Forward message" });
  await dialog.getByRole("button", { name: "#friends" }).click();
  await expect(dialog.getByText("Forwarded to")).toBeVisible();
  await dialog.getByRole("button", { name: "Close" }).first().click();
  await openRoom(b, "friends");
  await expect(message(b, "friends", "Meet at 8")).toContainText("Forwarded");

  // Alice deletes the original: Bob sees the tombstone in family.
  await message(a, "family", "Meet at 8").getByRole("button", { name: "Message actions" }).click();
  await a.getByRole("button", { name: "Delete" }).click();
  await a.getByRole("dialog", { name: "Delete message?" }).getByRole("button", { name: "Delete" }).click();
  await openRoom(b, "family");
  await expect(message(b, "family", "This message was deleted.")).toBeVisible();
  await expect(timeline(b, "family").getByText("Meet at 8")).toHaveCount(0);
  await shot(b, "chat-edit-delete");
});

test("members: an owner adds, promotes and removes; a member sees no controls and leaves", async ({ server, newUser, signIn }) => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const carol = await newUser("carol");
  await createRoom(server, alice, "team", [bob]);
  const a = await signIn(alice);
  const b = await signIn(bob);
  await openRoom(a, "team");
  await openRoom(b, "team");

  await a.getByRole("button", { name: "Members (2)" }).click();
  const dialog = a.getByRole("dialog", { name: "Members of team" });
  await dialog.getByRole("searchbox", { name: "Add someone" }).fill(carol.username.slice(0, 8));
  await dialog.getByRole("button", { name: `Add ${carol.username}` }).click();
  const members = dialog.getByRole("list", { name: "Members" });
  await expect(members.getByRole("listitem").filter({ hasText: carol.username })).toBeVisible();
  await members.getByRole("combobox", { name: `Role of ${carol.username}` }).selectOption("admin");
  await expect(members.getByRole("combobox", { name: `Role of ${carol.username}` })).toHaveValue("admin");
  await shot(a, "chat-members");
  await members.getByRole("button", { name: `Remove ${carol.username}` }).click();
  await expect(members.getByRole("listitem").filter({ hasText: carol.username })).toHaveCount(0);
  await dialog.getByRole("button", { name: "Close" }).click();

  // Bob is a plain member: he sees the list but no controls.
  await b.getByRole("button", { name: /^Members/ }).click();
  const bobsView = b.getByRole("dialog", { name: "Members of team" });
  await expect(bobsView.getByRole("listitem").filter({ hasText: alice.username })).toContainText("owner");
  await expect(bobsView.getByRole("searchbox", { name: "Add someone" })).toHaveCount(0);
  await expect(bobsView.getByRole("button", { name: /^Remove/ })).toHaveCount(0);
  await bobsView.getByRole("button", { name: "Close" }).click();

  await b.getByRole("button", { name: "Leave" }).click();
  await b.getByRole("dialog", { name: "Leave team?" }).getByRole("button", { name: "Leave room" }).click();
  await expect(b.getByText("Pick a conversation or browse rooms.")).toBeVisible();
  await expect(b.getByRole("navigation", { name: "Conversations" }).getByRole("link", { name: /^team/ })).toHaveCount(0);
  await a.getByRole("button", { name: "Members (1)" }).click();
  await expect(a.getByRole("dialog", { name: "Members of team" }).getByRole("listitem")).toHaveCount(1);
});

test("@mentions complete from the members and stand out for the one mentioned; a refused message; dark mode", async ({ server, newUser, signIn }) => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  await createRoom(server, alice, "team", [bob]);
  const a = await signIn(alice);
  const b = await signIn(bob);
  await openRoom(a, "team");
  await openRoom(b, "team");

  const composer = a.getByRole("textbox", { name: "Message" });
  await composer.pressSequentially(`Hey @${bob.username.slice(0, 4)}`);
  const suggestions = a.getByRole("listbox", { name: "Mention a member" });
  await expect(suggestions.getByRole("option", { name: new RegExp(bob.username) })).toHaveAttribute("aria-selected", "true");
  await composer.press("Enter");
  await expect(composer).toHaveValue(`Hey @${bob.username} `);
  await composer.pressSequentially("look at this");
  await composer.press("Enter");
  const mention = message(b, "team", `Hey @${bob.username} look at this`);
  await expect(mention.getByText(`@${bob.username}`)).toHaveClass(/chat-mention me/);
  await expectAccessible(b);
  await shot(b, "chat-mention");

  // A message the server refuses stays, marked, until retried or discarded.
  await composer.fill("bell \u0007 ring");
  await composer.press("Enter");
  const refused = timeline(a, "team").getByRole("listitem").filter({ hasText: "Not sent" });
  await expect(refused).toBeVisible();
  await expect(refused.getByRole("button", { name: "Retry" })).toBeVisible();
  await refused.getByRole("button", { name: "Discard" }).click();
  await expect(refused).toHaveCount(0);

  await b.emulateMedia({ colorScheme: "dark" });
  await expect(b.locator("html")).toHaveAttribute("data-bs-theme", "dark");
  await expectAccessible(b);
  await shot(b, "chat-dark");
});

test("phone width: the list is the home screen and a room has a way back", async ({ newUser, signIn }) => {
  const alice = await newUser("alice");
  const a = await signIn(alice);
  await a.setViewportSize({ width: 375, height: 740 });
  const conversations = a.getByRole("navigation", { name: "Conversations" });
  await expect(conversations).toBeVisible();
  await expect(a.getByText("Pick a conversation or browse rooms.")).toBeHidden();
  await shot(a, "chat-phone-list");
  await openRoom(a, "general");
  await expect(conversations).toBeHidden();
  await say(a, "Hello from a phone");
  await expect(message(a, "general", "Hello from a phone")).toBeVisible();
  await expectAccessible(a);
  await shot(a, "chat-phone-room");
  await a.getByRole("link", { name: "Back to conversations" }).click();
  await expect(conversations).toBeVisible();

  await a.setViewportSize({ width: 1280, height: 720 });
  await expect(a.getByText("Pick a conversation or browse rooms.")).toBeVisible();
  await a.getByRole("link", { name: "Browse rooms" }).first().click();
  await expect(a.getByRole("heading", { name: "Browse rooms" })).toBeVisible();
  await expectAccessible(a);
});

test.describe("a long history", () => {
  test.use({ serverArgs: ["--send-rate", "100000", "--send-burst", "100000"] });

  test("scrolling up loads older messages without moving the ones on screen", async ({ server, newUser, signIn }) => {
    test.setTimeout(180_000);
    const alice = await newUser("alice");
    const room = await createRoom(server, alice, "archive");
    const token = await accessTokenFor(server, alice);
    const total = 2000;
    const label = (n: number) => `Archived message ${String(n).padStart(4, "0")}`;
    for (let n = 1; n <= total; n++) {
      const response = await fetch(`${server.url}/v1/rooms/${room.id}/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ body: label(n), client_id: `seed-${n}` }),
      });
      expect(response.status).toBe(201);
    }

    const a = await signIn(alice);
    await openRoom(a, "archive");
    await expect(message(a, "archive", label(total))).toBeVisible();
    const scroller = a.getByTestId("virtuoso-scroller");

    // Hold the first request for older messages until the screen is measured.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let requested = () => {};
    const asked = new Promise<void>((resolve) => (requested = resolve));
    let first = true;
    await a.route(/\/v1\/rooms\/\d+\/messages\?.*before=/, async (route) => {
      if (first) {
        first = false;
        requested();
        await held;
      }
      await route.continue();
    });

    // At the top of what is loaded, the oldest loaded message stays put while older ones arrive.
    const oldestLoaded = label(total - 49);
    await scroller.evaluate((el) => el.scrollTo({ top: 0 }));
    await asked;
    await expect(message(a, "archive", oldestLoaded)).toBeVisible();
    const before = await message(a, "archive", oldestLoaded).boundingBox();
    release();
    await expect(a.getByText("Loading older messages…")).toHaveCount(0);
    const after = await message(a, "archive", oldestLoaded).boundingBox();
    expect(before).not.toBeNull();
    expect(after).not.toBeNull();
    expect(Math.abs((after?.y ?? 0) - (before?.y ?? 0))).toBeLessThan(4);

    // Keep going up to the very first message.
    await expect(async () => {
      await scroller.evaluate((el) => el.scrollTo({ top: 0 }));
      await expect(a.getByText("This is the beginning of the conversation.")).toBeVisible({ timeout: 1000 });
    }).toPass({ timeout: 120_000 });
    await expect(message(a, "archive", label(1))).toBeVisible();
    await shot(a, "chat-history");
    await a.getByRole("button", { name: "Jump to latest" }).click();
    await expect(message(a, "archive", label(total))).toBeVisible();
    await expect(a.getByRole("button", { name: "Jump to latest" })).toHaveCount(0);
  });
});
