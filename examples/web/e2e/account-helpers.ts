// Helpers of the account, people and notifications browser tests: the few steps several tests
// take through the UI.
import { expect, type Page, type User } from "./fixtures";

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
