// jeco-server serves the built client: the application at /, index.html for the client's own
// routes, and the API untouched beside it.
import { expect, test } from "./fixtures";

test("the client is served at / and its routes load directly", async ({ page, server }) => {
  await page.goto(`${server.url}/`);
  await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();

  await page.goto(`${server.url}/forgot-password`);
  await expect(page.getByRole("heading", { level: 1 })).toBeVisible();
  await expect(page).toHaveTitle("Jeco Chat");
});

test("API paths are never answered by the client", async ({ server }) => {
  const unknown = await fetch(`${server.url}/v1/no-such-route`);
  expect(unknown.status).toBe(404);
  expect(((await unknown.json()) as { code: string }).code).toBe("unknown_route");

  const spec = await fetch(`${server.url}/v1/openapi.json`);
  expect(spec.headers.get("content-type")).toContain("application/json");
});
