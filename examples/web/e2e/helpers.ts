// Steps the browser tests share: setting the scene over REST (never what a test checks), and
// finding and writing in a conversation through the UI.
import { accessTokenFor, expect, type JecoServer, type Page, type User } from "./fixtures";

/** Calls the API as `user`; the answer's JSON, or nothing for an empty answer. */
export async function callAs<T>(server: JecoServer, user: User, method: string, path: string, body?: unknown): Promise<T> {
  const token = await accessTokenFor(server, user);
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export interface Room {
  id: number;
  name: string;
}

/** A public room of `owner` that `members` joined. */
export async function createRoom(server: JecoServer, owner: User, name: string, members: User[] = [], topic = ""): Promise<Room> {
  const room = await callAs<Room>(server, owner, "POST", "/v1/rooms", { name, topic, kind: "public" });
  for (const member of members) await callAs(server, member, "POST", `/v1/rooms/${room.id}/join`);
  return room;
}

/** Posts a message as `user` over REST. */
export async function post(server: JecoServer, user: User, roomId: number, body: string): Promise<void> {
  await callAs(server, user, "POST", `/v1/rooms/${roomId}/messages`, { body, client_id: `seed-${crypto.randomUUID()}` });
}

/** Opens a conversation from the sidebar and waits for its timeline. */
export async function openRoom(page: Page, name: string) {
  await page
    .getByRole("navigation", { name: "Conversations" })
    .getByRole("link", { name: new RegExp(`^${name}\\b`) })
    .click();
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
}

/** The timeline of the conversation named `name` (a room, or a direct conversation's peer). */
export function timeline(page: Page, name: string) {
  return page.getByRole("list", { name: new RegExp(`^Messages (in|with) ${name}$`) });
}

/** The message whose text is `text` (a reply quoting it is another message). */
export function message(page: Page, room: string, text: string) {
  return timeline(page, room).getByRole("listitem").filter({ has: page.getByText(text, { exact: true }) });
}

/** Writes `text` in the open conversation and sends it with Enter. */
export async function say(page: Page, text: string) {
  const composer = page.getByRole("textbox", { name: "Message" });
  await composer.fill(text);
  await composer.press("Enter");
}
