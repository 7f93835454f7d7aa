// Avatars are served only to signed-in users (a bearer token, which an <img> cannot send):
// each is fetched once through the API client into a blob: URL kept for the page's lifetime.
import { api } from "../api/client";

const cache = new Map<number, Promise<string | undefined>>();

async function load(id: number): Promise<string | undefined> {
  const path = { params: { path: { attachment_id: id } }, parseAs: "blob" as const };
  const thumbnail = await api.GET("/v1/attachments/{attachment_id}/thumbnail", path);
  const answer = thumbnail.response.ok ? thumbnail : await api.GET("/v1/attachments/{attachment_id}", path);
  if (!answer.response.ok || !(answer.data instanceof Blob)) return undefined;
  return URL.createObjectURL(answer.data);
}

/** A blob: URL of avatar `id` (a small thumbnail when the server can make one). */
export function avatarUrl(id: number): Promise<string | undefined> {
  let url = cache.get(id);
  if (!url) {
    url = load(id).catch(() => undefined);
    cache.set(id, url);
    // A failure is not remembered: the next screen that shows the avatar tries again.
    void url.then((u) => u ?? cache.delete(id));
  }
  return url;
}
