// A failed form submission: the server's message next to the field it names, or for the
// whole form when it names none (or a field the form does not show).
import { ApiError, errorText } from "../api/client";

export interface FormErrors {
  fields: Partial<Record<string, string>>;
  form?: string;
}

export const NO_ERRORS: FormErrors = { fields: {} };

/**
 * Sorts an error into a field of `shown` or the whole form. `aliases` renames the server's
 * field names to the form's, and names the field of codes that come without one
 * (`username_taken` → `username`).
 */
export function formErrors(error: unknown, shown: string[], aliases: Record<string, string> = {}): FormErrors {
  if (error instanceof ApiError) {
    const field = error.field ? (aliases[error.field] ?? error.field) : aliases[error.code];
    if (field && shown.includes(field)) return { fields: { [field]: sentence(error.message) } };
  }
  return { fields: {}, form: sentence(errorText(error)) };
}

/** Server messages are phrases ("use at least 8 characters"): show them as sentences. */
function sentence(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) return trimmed;
  const first = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}
