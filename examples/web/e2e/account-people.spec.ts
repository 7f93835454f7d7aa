// People through the browser: contacts and blocks, direct conversations, presence.
import { expect, shot, test, type Page } from "./fixtures";
import { callAs } from "./helpers";
import { navbar } from "./account-helpers";

async function search(page: Page, text: string) {
  await page.getByLabel("Search by username or email").fill(text);
  return page.getByRole("region", { name: "Search results" });
}

test("contacts: search, add, remove, block; all kept by the server (Test Flow: contacts)", async ({ newUser, signIn }) => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const page = await signIn(alice);
  await navbar(page).getByRole("link", { name: "Contacts" }).click();
  await expect(page.getByRole("heading", { name: "Contacts", level: 1 })).toBeVisible();
  const mine = page.getByRole("region", { name: "My contacts" });
  await expect(mine.getByText("No contacts yet")).toBeVisible();

  // By the start of the username…
  let results = await search(page, bob.username.slice(0, 6));
  await results.getByRole("listitem", { name: bob.username }).getByRole("button", { name: "Add" }).click();
  await expect(mine.getByRole("listitem", { name: bob.username })).toBeVisible();
  await shot(page, "contacts");

  await page.reload();
  await expect(mine.getByRole("listitem", { name: bob.username })).toBeVisible();
  // Kept by the server: a new sign-in finds it.
  const again = await signIn(alice);
  await navbar(again).getByRole("link", { name: "Contacts" }).click();
  await expect(again.getByRole("region", { name: "My contacts" }).getByRole("listitem", { name: bob.username })).toBeVisible();

  await mine.getByRole("listitem", { name: bob.username }).getByRole("button", { name: "Remove" }).click();
  await expect(mine.getByRole("listitem", { name: bob.username })).toHaveCount(0);
  await expect(mine.getByText("No contacts yet")).toBeVisible();

  // …or by the exact email address.
  results = await search(page, bob.email);
  const blocked = page.getByRole("region", { name: "Blocked" });
  await results.getByRole("listitem", { name: bob.username }).getByRole("button", { name: "Block" }).click();
  await expect(blocked.getByRole("listitem", { name: bob.username })).toBeVisible();
  // Another session of Alice's hears of the block live.
  await expect(again.getByRole("region", { name: "Blocked" }).getByRole("listitem", { name: bob.username })).toBeVisible();
  await blocked.getByRole("button", { name: `Unblock ${bob.username}` }).click();
  await expect(blocked.getByText("You block nobody.")).toBeVisible();
});

test("a block made on another device shows at once", async ({ server, newUser, signIn }) => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const page = await signIn(alice);
  await navbar(page).getByRole("link", { name: "Contacts" }).click();
  const blocked = page.getByRole("region", { name: "Blocked" });
  await expect(blocked.getByText("You block nobody.")).toBeVisible();
  await callAs(server, alice, "PUT", `/v1/blocks/${bob.id}`);
  await expect(blocked.getByRole("listitem", { name: bob.username })).toBeVisible();
});

test("direct messages: A picks B in People, both talk live, apart from rooms (Test Flow: direct messages)", async ({ newUser, signIn }) => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  const a = await signIn(alice);
  const b = await signIn(bob);

  await navbar(a).getByRole("link", { name: "People" }).click();
  const results = await search(a, bob.username);
  await results.getByRole("button", { name: `Message ${bob.username}` }).click();
  await expect(a).toHaveURL(/\/rooms\/\d+$/);
  const dm = new URL(a.url()).pathname;
  await a.getByRole("textbox", { name: "Message" }).fill("hello bob, just us");
  await a.getByRole("button", { name: "Send" }).click();

  // Bob finds Alice the same way and lands in the same conversation.
  await navbar(b).getByRole("link", { name: "People" }).click();
  await (await search(b, alice.username)).getByRole("button", { name: `Message ${alice.username}` }).click();
  await expect(b).toHaveURL(new RegExp(`${dm}$`));
  await expect(b.getByText("hello bob, just us", { exact: true })).toBeVisible();
  await b.getByRole("textbox", { name: "Message" }).fill("hi alice");
  await b.getByRole("button", { name: "Send" }).click();
  await expect(a.getByText("hi alice", { exact: true })).toBeVisible();
  await shot(a, "direct-message");

  // The conversation is listed with the people Alice talks to, not among public rooms.
  await navbar(a).getByRole("link", { name: "People" }).click();
  await expect(a.getByRole("region", { name: "Direct conversations" }).getByRole("listitem", { name: bob.username })).toBeVisible();
  await navbar(a).getByRole("link", { name: "Rooms" }).click();
  await expect(a.getByText("hello bob, just us", { exact: true })).toHaveCount(0);
});

test("presence: online while signed in, offline when the browser closes, online again (Test Flow: presence)", async ({ server, newUser, signIn }) => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  // Presence reaches the people who have the user as a contact.
  await callAs(server, alice, "PUT", `/v1/contacts/${bob.id}`);
  await callAs(server, bob, "PUT", `/v1/contacts/${alice.id}`);

  const a = await signIn(alice);
  let b = await signIn(bob);
  await navbar(a).getByRole("link", { name: "People" }).click();
  await navbar(b).getByRole("link", { name: "People" }).click();
  const bobForAlice = a.getByRole("region", { name: "My contacts" }).getByRole("listitem", { name: bob.username });
  const aliceForBob = b.getByRole("region", { name: "My contacts" }).getByRole("listitem", { name: alice.username });
  await expect(bobForAlice.getByText("Online")).toBeVisible();
  await expect(aliceForBob.getByText("Online")).toBeVisible();
  await shot(a, "people");

  await b.context().close();
  await expect(bobForAlice.getByText(/Last seen/)).toBeVisible();
  await expect(bobForAlice.locator("time")).toHaveAttribute("datetime", /^\d{4}-/);

  b = await signIn(bob);
  await expect(bobForAlice.getByText("Online")).toBeVisible();
});

test("someone's profile: who they are, whether online, and what I can do", async ({ server, newUser, signIn }) => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  await callAs(server, bob, "PATCH", "/v1/me", { display_name: "Bob Builder", bio: "Can we fix it?" });
  const a = await signIn(alice);
  await signIn(bob);

  await navbar(a).getByRole("link", { name: "People" }).click();
  await (await search(a, bob.username)).getByRole("link", { name: "Bob Builder" }).click();
  await expect(a.getByRole("heading", { name: "Bob Builder", level: 1 })).toBeVisible();
  await expect(a.getByText("Can we fix it?")).toBeVisible();
  await expect(a.getByText("Online")).toBeVisible();

  await a.getByRole("button", { name: "Add contact" }).click();
  await expect(a.getByRole("button", { name: "Remove contact" })).toBeVisible();
  await a.getByRole("button", { name: "Block" }).click();
  await expect(a.getByRole("button", { name: "Unblock" })).toBeVisible();
  await expect(a.getByRole("button", { name: "Message" })).toBeDisabled();
  await shot(a, "user-profile");
  await a.getByRole("button", { name: "Unblock" }).click();
  await a.getByRole("button", { name: "Message" }).click();
  await expect(a).toHaveURL(/\/rooms\/\d+$/);
});
