import { describe, expect, it } from "vitest";
import { displayName, initials, timeAgo } from "./format";

describe("format", () => {
  it("prefers the display name and falls back to the username", () => {
    expect(displayName({ display_name: "  ", username: "bob" })).toBe("bob");
    expect(displayName({ display_name: "Bob B", username: "bob" })).toBe("Bob B");
  });

  it("takes the first letters of the first and last words", () => {
    expect(initials({ display_name: "Ada King Lovelace", username: "ada" })).toBe("AL");
    expect(initials({ display_name: "", username: "zed" })).toBe("Z");
  });

  it("says how long ago in coarse steps", () => {
    const now = 1_000_000_000_000;
    expect(timeAgo(now - 10_000, now)).toBe("just now");
    expect(timeAgo(now - 5 * 60_000, now)).toBe("5 min ago");
    expect(timeAgo(now - 3 * 3_600_000, now)).toBe("3 h ago");
    expect(timeAgo(now - 24 * 3_600_000, now)).toBe("yesterday");
  });
});
