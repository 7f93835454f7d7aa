// The typed REST client. Paths, parameters and bodies come from the generated schema, so a
// change of the server's wire types that the client does not follow fails the type check.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

/** Every wire type of the API by name: `S["Message"]`, `S["Room"]`, `S["Event"]`... */
export type S = components["schemas"];

/** The REST client. `src/auth/session.ts` adds the access token and refreshes it. */
export const api = createClient<paths>({ baseUrl: "" });

/** An error answer of the API: its stable code, the server's message and what came with it. */
export class ApiError extends Error {
  readonly code: string;
  readonly status: number;
  /** Seconds to wait before retrying (`Retry-After`), for `rate_limited` and `unavailable`. */
  readonly retryAfter: number | undefined;
  /** The request field the error is about, when the server names one. */
  readonly field: string | undefined;

  constructor(code: string, message: string, status: number, retryAfter?: number, field?: string) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.status = status;
    this.retryAfter = retryAfter;
    this.field = field;
  }
}

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a successful answer; an `ApiError` for any other. */
export async function unwrap<T>(request: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await request;
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw new ApiError("network", "The server cannot be reached. Check your connection.", 0);
  }
  const { data, error, response } = answer;
  if (response.ok) return data as T;
  throw toApiError(error, response);
}

/** The `ApiError` of a failed answer, from its error body when it has one. */
export function toApiError(body: unknown, response: Response): ApiError {
  const retry = Number(response.headers.get("retry-after"));
  const retryAfter = Number.isFinite(retry) && retry > 0 ? retry : undefined;
  if (body && typeof body === "object" && "code" in body && "message" in body) {
    const { code, message, field } = body as { code: string; message: string; field?: string | null };
    return new ApiError(code, message, response.status, retryAfter, field ?? undefined);
  }
  return new ApiError("http_" + response.status, `The server answered ${response.status}.`, response.status, retryAfter);
}

/** What to tell a person about an error: the server's own message for API errors. */
export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === "rate_limited" && error.retryAfter) {
      return `${error.message} Try again in ${error.retryAfter} s.`;
    }
    return error.message;
  }
  if (error instanceof Error) return error.message;
  return "Something went wrong.";
}
