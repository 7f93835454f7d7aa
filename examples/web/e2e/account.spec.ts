// Accounts through the browser: registering, signing in and out, resetting and changing the
// password, the profile.
import { expect, shot, test } from "./fixtures";
import { navbar, signOutThroughMenu, submitLogin } from "./account-helpers";

test("register, then sign in: the chat opens (Test Flow: register → login → chat)", async ({ browser, page, server }) => {
  const username = `reg${Date.now().toString(36)}`;
  const password = "a long pass phrase";
  await page.goto(`${server.url}/login`);
  await page.getByRole("link", { name: "Create an account" }).click();
  await expect(page).toHaveURL(/\/register$/);

  // The server's rules show before anything is sent.
  await page.getByLabel("Username").fill("_x");
  await page.getByLabel("Email").fill(`${username}@example.test`);
  await page.getByLabel("Password").fill("1234");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByText("Use 3 to 32 characters.")).toBeVisible();
  await expect(page.getByText("Use at least 8 characters.")).toBeVisible();
  await shot(page, "register-errors");

  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByRole("main")).toBeVisible();
  await expect(page.getByRole("link", { name: "Jeco Chat" })).toBeVisible();

  // A taken username is reported next to its field.
  const other = await browser.newContext({ baseURL: server.url });
  const second = await other.newPage();
  await second.goto("/register");
  await second.getByLabel("Username").fill(username);
  await second.getByLabel("Email").fill(`other-${username}@example.test`);
  await second.getByLabel("Password").fill(password);
  await second.getByRole("button", { name: "Create account" }).click();
  await expect(second.getByLabel("Username")).toHaveAttribute("aria-invalid", "true");
  await other.close();

  await signOutThroughMenu(page, { id: 0, username, email: "", password });
  await submitLogin(page, username, "not the password");
  await expect(page.getByRole("alert")).toBeVisible();
  await submitLogin(page, `${username}@example.test`, password);
  await expect(page.getByRole("main")).toBeVisible();
  await expect(page.getByRole("button", { name: username })).toBeVisible();
  await shot(page, "home-after-login");
});

test("sign out: back to the login page, and a reload does not bring the session back (Test Flow: logout)", async ({ page, server, newUser }) => {
  const user = await newUser("out");
  await page.goto(`${server.url}/login`);
  const answer = page.waitForResponse((r) => r.url().endsWith("/v1/auth/login"));
  await submitLogin(page, user.username, user.password);
  const cookie = /jeco_refresh=[^;]+/.exec((await (await answer).headerValue("set-cookie")) ?? "")?.[0];
  expect(cookie).toBeDefined();
  await expect(navbar(page).getByRole("button", { name: user.username })).toBeVisible();

  // Signed in, a reload keeps the session.
  await page.reload();
  await expect(navbar(page).getByRole("button", { name: user.username })).toBeVisible();

  await signOutThroughMenu(page, user);
  await expect(page).toHaveURL(/\/login$/);

  // The refresh cookie the session had is revoked: replaying it buys nothing.
  const replay = await fetch(`${server.url}/v1/auth/refresh`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-jeco-csrf": "1", cookie: cookie ?? "" },
    body: "{}",
  });
  expect(replay.status).toBe(401);

  await page.reload();
  await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();
  await page.goto(`${server.url}/people`);
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();
  await page.goto(`${server.url}/`);
  await expect(page).toHaveURL(/\/login$/);
  await shot(page, "login");
});

test("forgot password: the mailed link sets a new one; the old one stops working (Test Flow: password reset)", async ({ page, server, newUser }) => {
  const user = await newUser("reset");
  const fresh = "a brand new secret";
  await page.goto(`${server.url}/login`);
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await page.getByLabel("Email").fill(user.email);
  await page.getByRole("button", { name: "Send reset link" }).click();
  await expect(page.getByText("If an account exists, a link was sent")).toBeVisible();
  await shot(page, "forgot-password");

  await expect.poll(() => server.resetLinks().length).toBeGreaterThan(0);
  const link = server.resetLinks().at(-1)!;
  expect(link).toContain("#token=");
  await page.goto(link);
  // The token leaves the address bar at once.
  await expect(page).toHaveURL(/\/reset-password$/);
  await page.getByLabel("New password", { exact: true }).fill(fresh);
  await page.getByLabel("Confirm new password").fill(fresh);
  await page.getByRole("button", { name: "Set new password" }).click();
  await expect(page.getByText("Your password was changed")).toBeVisible();
  await shot(page, "reset-password-done");
  await expect(page).toHaveURL(/\/login$/);

  await submitLogin(page, user.username, user.password);
  await expect(page.getByRole("alert")).toBeVisible();
  await submitLogin(page, user.username, fresh);
  await expect(page.getByRole("main")).toBeVisible();
  await expect(navbar(page).getByRole("button", { name: user.username })).toBeVisible();

  // The link works once.
  await page.goto(link);
  await page.getByLabel("New password", { exact: true }).fill("yet another secret");
  await page.getByLabel("Confirm new password").fill("yet another secret");
  await page.getByRole("button", { name: "Set new password" }).click();
  await expect(page.getByRole("alert")).toContainText(/invalid|expired|used/i);
});

test("changing the password signs out the other sessions, not this one", async ({ newUser, signIn }) => {
  const user = await newUser("pw");
  const here = await signIn(user);
  const elsewhere = await signIn(user);
  const fresh = "another long secret";

  await navbar(here).getByRole("button", { name: user.username }).click();
  await here.getByRole("link", { name: "Profile" }).click();
  await here.getByLabel("Current password").fill("wrong password!");
  await here.getByLabel("New password", { exact: true }).fill(fresh);
  await here.getByLabel("Confirm new password").fill(fresh);
  await here.getByRole("button", { name: "Change password" }).click();
  await expect(here.getByText("The current password is wrong.")).toBeVisible();

  await here.getByLabel("Current password").fill(user.password);
  await here.getByRole("button", { name: "Change password" }).click();
  await expect(here.getByText("Password changed. Your other devices were signed out.")).toBeVisible();
  await shot(here, "profile-password-changed");

  await expect(elsewhere.getByRole("button", { name: "Sign in" })).toBeVisible();
  await expect(elsewhere.getByText("Your password was changed on another device.")).toBeVisible();
  // This tab carries on with the tokens the change returned, across a reload too.
  await navbar(here).getByRole("link", { name: "People" }).click();
  await expect(here.getByRole("heading", { name: "People", level: 1 })).toBeVisible();
  await here.reload();
  await expect(here.getByRole("heading", { name: "People", level: 1 })).toBeVisible();
  await expect(navbar(here).getByRole("button", { name: user.username })).toBeVisible();

  await submitLogin(elsewhere, user.username, fresh);
  await expect(navbar(elsewhere).getByRole("button", { name: user.username })).toBeVisible();
});

test("the profile: display name and bio, and an avatar image", async ({ newUser, signIn }) => {
  const user = await newUser("prof");
  const page = await signIn(user);
  await navbar(page).getByRole("button", { name: user.username }).click();
  await page.getByRole("link", { name: "Profile" }).click();
  await page.getByLabel("Display name").fill("Ada Lovelace");
  await page.getByLabel("Bio").fill("Writes the first programs.");
  await page.getByRole("button", { name: "Save profile" }).click();
  await expect(page.getByText("Profile saved.")).toBeVisible();
  await expect(navbar(page).getByRole("button", { name: "Ada Lovelace" })).toBeVisible();

  // A 1x1 PNG.
  const png = Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
    "base64",
  );
  await page.getByLabel("Avatar image").setInputFiles({ name: "me.png", mimeType: "image/png", buffer: png });
  await expect(page.getByRole("img", { name: "Ada Lovelace's avatar" }).locator("img")).toHaveAttribute("src", /^blob:/);
  await expect(page.getByRole("button", { name: "Remove avatar" })).toBeVisible();
  await shot(page, "profile");

  // Kept by the server: another browser sees the same.
  const other = await signIn(user);
  await navbar(other).getByRole("button", { name: "Ada Lovelace" }).click();
  await other.getByRole("link", { name: "Profile" }).click();
  await expect(other.getByLabel("Bio")).toHaveValue("Writes the first programs.");
  await expect(other.getByRole("img", { name: "Ada Lovelace's avatar" }).locator("img")).toHaveAttribute("src", /^blob:/);
});
