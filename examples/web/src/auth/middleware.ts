// The REST client's auth middleware: the bearer token on every call but the auth ones, and on a
// 401 one refresh (shared by every call that got one) and one retry.
import type { Middleware } from "openapi-fetch";
import type { SessionCore } from "./core";

export function authMiddleware(core: SessionCore, fetch: (request: Request) => Promise<Response>): Middleware {
  const retryable = new Map<string, Request>();
  return {
    async onRequest({ request, id, schemaPath }) {
      if (schemaPath.startsWith("/v1/auth/")) return undefined;
      let token: string;
      try {
        token = await core.accessToken();
      } catch {
        return undefined;
      }
      request.headers.set("authorization", `Bearer ${token}`);
      retryable.set(id, request.clone());
      return request;
    },
    async onResponse({ response, id }) {
      const original = retryable.get(id);
      retryable.delete(id);
      if (response.status !== 401 || !original) return undefined;
      const used = original.headers.get("authorization")?.slice("Bearer ".length) ?? null;
      if (!(await core.refresh(used))) return undefined;
      const token = core.currentToken();
      if (!token) return undefined;
      original.headers.set("authorization", `Bearer ${token}`);
      return fetch(original);
    },
    onError({ id }) {
      retryable.delete(id);
    },
  };
}
