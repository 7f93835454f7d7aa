// axe-core on the account, people and notifications screens: no serious or critical finding.
import { expect, expectAccessible, shot, test } from "./fixtures";

test("signed-out screens are accessible", async ({ page, server }) => {
  test.slow(); // several axe-core scans in one test
  for (const path of ["/login", "/register", "/forgot-password", "/reset-password#token=abc"]) {
    await page.goto(`${server.url}${path}`);
    await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
    await expectAccessible(page);
  }
});

test("signed-in screens are accessible", async ({ newUser, signIn }) => {
  test.slow(); // several axe-core scans in one test
  const alice = await newUser("alice");
  const page = await signIn(alice);
  const bar = page.getByRole("navigation", { name: "Main navigation" });
  const visit = async (open: () => Promise<void>, heading: string) => {
    await open();
    await expect(page.getByRole("heading", { name: heading, level: 1 })).toBeVisible();
    await expectAccessible(page);
  };
  await visit(() => bar.getByRole("link", { name: "People" }).click(), "People");
  await visit(() => bar.getByRole("link", { name: "Contacts" }).click(), "Contacts");
  await visit(() => bar.getByRole("link", { name: "Notifications" }).click(), "Notifications");
  await visit(async () => {
    await bar.getByRole("button", { name: alice.username }).click();
    await bar.getByRole("link", { name: "Profile" }).click();
  }, "Your profile");
  await visit(() => page.getByRole("link", { name: "See your public profile" }).click(), alice.username);
});

test("the navigation bar works on a phone", async ({ newUser, signIn }) => {
  const alice = await newUser("alice");
  const page = await signIn(alice);
  await page.setViewportSize({ width: 375, height: 740 });
  const bar = page.getByRole("navigation", { name: "Main navigation" });
  await expect(bar.getByRole("link", { name: "People" })).toBeHidden();
  await bar.getByRole("button", { name: "Toggle navigation" }).click();
  await bar.getByRole("link", { name: "People" }).click();
  await expect(page.getByRole("heading", { name: "People", level: 1 })).toBeVisible();
  await expect(bar.getByRole("link", { name: "Notifications" })).toBeVisible();
  await expectAccessible(page);
});

test.describe("dark mode on a phone", () => {
  test.use({ colorScheme: "dark" });
  const phone = { width: 375, height: 740 };

  test("the account screens stay readable", async ({ page, server, newUser, signIn }) => {
    test.slow(); // several axe-core scans in one test
    await page.setViewportSize(phone);
    await page.goto(`${server.url}/login`);
    await expect(page.locator("html")).toHaveAttribute("data-bs-theme", "dark");
    await expectAccessible(page);
    await shot(page, "login-dark-phone");

    const alice = await newUser("alice");
    // Signed in at desktop width (a phone shows the conversation list first, without <main>).
    const a = await signIn(alice);
    await a.setViewportSize(phone);
    const bar = a.getByRole("navigation", { name: "Main navigation" });
    await bar.getByRole("button", { name: "Toggle navigation" }).click();
    await bar.getByRole("link", { name: "Contacts" }).click();
    await expect(a.getByRole("heading", { name: "Contacts", level: 1 })).toBeVisible();
    await expectAccessible(a);
    await bar.getByRole("link", { name: "Notifications" }).click();
    await expect(a.getByRole("heading", { name: "Notifications", level: 1 })).toBeVisible();
    await expectAccessible(a);
    await shot(a, "notifications-dark-phone");
  });
});
