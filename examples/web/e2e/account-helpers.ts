// Helpers of the account, people and notifications browser tests: seeding over REST what a
// test is not about, and the few steps several tests take through the UI.
import { accessTokenFor, expect, type JecoServer, type Page, type User } from "./fixtures";

/** Calls the API as `user` (for setting the scene, never for what a test checks). */
export async function callAs<T>(server: JecoServer, user: User, method: string, path: string, body?: unknown): Promise<T> {
  const token = await accessTokenFor(server, user);
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (response.status === 204 ? undefined : await response.json()) as T;
}

/** Signs out through the account menu of the navigation bar. */
export async function signOutThroughMenu(page: Page, user: User): Promise<void> {
  await navbar(page).getByRole("button", { name: user.username }).click();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();
}

/** Fills the login form and submits it. */
export async function submitLogin(page: Page, login: string, password: string): Promise<void> {
  await page.getByLabel("Username or email").fill(login);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** The application's navigation bar. */
export function navbar(page: Page) {
  return page.getByRole("navigation", { name: "Main navigation" });
}
