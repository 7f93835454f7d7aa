// What every browser test stands on: a fresh jeco-server per test (its own SQLite data
// directory, its own port, the built client from dist/), users registered over REST, and
// browser contexts signed in through the login page as those users.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import AxeBuilder from "@axe-core/playwright";
import { test as base, expect, type Browser, type BrowserContext, type Page } from "@playwright/test";

export { expect };
export type { Page };

const web = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repo = resolve(web, "../..");
const binary = process.env.JECO_SERVER_BIN ?? join(repo, "target/debug/jeco-server");
const screenshots = join(web, "e2e/.artifacts/screenshots");

/** Limits loose enough that a test's own traffic is never what it measures. */
const DEFAULT_ARGS = ["--auth-rate-per-minute", "100000", "--log-mail-secrets", "true"];

/** A free port on the loopback interface, chosen by the kernel. */
async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once("error", fail);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => {
        if (address && typeof address === "object") done(address.port);
        else fail(new Error("no port"));
      });
    });
  });
}

/** One jeco-server process and the data it keeps, which outlives restarts. */
export class JecoServer {
  readonly url: string;
  readonly dataDir: string;
  private readonly args: string[];
  private process: ChildProcess | undefined;
  private output = "";

  private constructor(port: number, dataDir: string, args: string[]) {
    this.url = `http://127.0.0.1:${port}`;
    this.dataDir = dataDir;
    this.args = ["--data-dir", dataDir, "--listen", `127.0.0.1:${port}`, "--web-dir", join(web, "dist"), ...args];
  }

  static async start(extraArgs: string[] = []): Promise<JecoServer> {
    const dataDir = mkdtempSync(join(tmpdir(), "jeco-e2e-"));
    const server = new JecoServer(await freePort(), dataDir, [...DEFAULT_ARGS, ...extraArgs]);
    await server.launch();
    return server;
  }

  private async launch(): Promise<void> {
    const child = spawn(binary, this.args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, RUST_LOG: "info", NO_COLOR: "1" },
    });
    this.process = child;
    // Only what this process prints counts: after a restart the log still holds the line
    // the previous one printed when it was listening.
    const from = this.output.length;
    const collect = (chunk: Buffer) => {
      this.output += chunk.toString();
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    await new Promise<void>((ready, fail) => {
      const check = () => {
        if (this.output.includes("Jeco Chat is listening on", from)) {
          child.stdout.off("data", check);
          ready();
        }
      };
      child.stdout.on("data", check);
      child.once("exit", (code) => fail(new Error(`jeco-server exited with ${code}:\n${this.output}`)));
    });
  }

  /** Stops the server the way an operator does (SIGTERM) and waits until it has exited. */
  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((done) => child.once("exit", () => done()));
    child.kill("SIGTERM");
    await exited;
  }

  /** Stops the server and starts it again on the same port with the same data. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  /** The password-reset links the server has written to its log (newest last). */
  resetLinks(): string[] {
    return [...this.output.matchAll(/https?:\/\/\S*reset-password\S*/g)].map((m) => m[0].replace(/["',]+$/, ""));
  }

  /** Everything the server printed so far. */
  log(): string {
    return this.output;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export interface User {
  id: number;
  username: string;
  email: string;
  password: string;
}

let serial = 0;

/** Registers a new account over REST (`name` prefixes its username). */
export async function registerUser(server: JecoServer, name = "user"): Promise<User> {
  serial += 1;
  const username = `${name}${serial}${Math.random().toString(36).slice(2, 7)}`.toLowerCase().slice(0, 30);
  const user = { username, email: `${username}@example.test`, password: "correct horse battery" };
  const response = await fetch(`${server.url}/v1/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(user),
  });
  if (!response.ok) throw new Error(`register ${username}: ${response.status} ${await response.text()}`);
  const session = (await response.json()) as { account: { id: number } };
  return { ...user, id: session.account.id };
}

/** An access token for `user`, for seeding data over REST. */
export async function accessTokenFor(server: JecoServer, user: User): Promise<string> {
  const response = await fetch(`${server.url}/v1/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ login: user.username, password: user.password }),
  });
  if (!response.ok) throw new Error(`login ${user.username}: ${response.status} ${await response.text()}`);
  const session = (await response.json()) as { tokens: { access_token: string } };
  return session.tokens.access_token;
}

/** Opens a browser context of its own and signs `user` in through the login page. */
export async function signInWith(browser: Browser, server: JecoServer, user: User): Promise<Page> {
  const context: BrowserContext = await browser.newContext({ baseURL: server.url });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByLabel("Username or email").fill(user.username);
  await page.getByLabel("Password", { exact: true }).fill(user.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("main")).toBeVisible();
  return page;
}

/** Saves a screenshot of `page` for the README (e2e/.artifacts/screenshots/<name>.png). */
export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, `${name}.png`) });
}

/** Fails when axe-core finds a serious or critical accessibility violation on the page. */
export async function expectAccessible(page: Page): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const severe = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(
    severe.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
  ).toEqual([]);
}

interface Fixtures {
  /** Extra command-line arguments for this test's server. */
  serverArgs: string[];
  /** This test's own server. */
  server: JecoServer;
  /** Registers a new user on this test's server. */
  newUser: (name?: string) => Promise<User>;
  /** A page in a new browser context, signed in as `user`. */
  signIn: (user: User) => Promise<Page>;
}

export const test = base.extend<Fixtures>({
  serverArgs: [[], { option: true }],
  server: async ({ serverArgs }, use) => {
    const server = await JecoServer.start(serverArgs);
    await use(server);
    await server.dispose();
  },
  newUser: async ({ server }, use) => {
    await use((name) => registerUser(server, name));
  },
  signIn: async ({ browser, server }, use) => {
    const pages: Page[] = [];
    await use(async (user) => {
      const page = await signInWith(browser, server, user);
      pages.push(page);
      return page;
    });
    for (const page of pages) await page.context().close();
  },
});
