// The server's rules for usernames and passwords (jeco-core validate.rs), checked before
// sending so people learn them while typing. The server stays the judge: its answer wins.

export const USERNAME_HINT = "3 to 32 letters, digits or underscores, not starting with an underscore.";
export const PASSWORD_HINT = "8 to 128 characters, not only digits, not a common password, not containing your username.";

/** Why a username would be refused, or `undefined` when it looks fine. */
export function usernameProblem(raw: string): string | undefined {
  const name = raw.trim().toLowerCase();
  if (name.length < 3 || name.length > 32) return "Use 3 to 32 characters.";
  if (!/^[a-z0-9_]+$/.test(name)) return "Use only letters, digits and underscores.";
  if (name.startsWith("_")) return "Do not start with an underscore.";
  return undefined;
}

/** Why a password would be refused, or `undefined` when it looks fine. */
export function passwordProblem(password: string, username?: string): string | undefined {
  const length = Array.from(password).length;
  if (length < 8) return "Use at least 8 characters.";
  if (length > 128) return "Use at most 128 characters.";
  if (/^[0-9]+$/.test(password)) return "Use more than digits.";
  const name = username?.trim().toLowerCase();
  if (name && name.length >= 3 && password.toLowerCase().includes(name)) {
    return "The password must not contain the username.";
  }
  return undefined;
}
