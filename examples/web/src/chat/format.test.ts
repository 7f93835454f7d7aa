import { describe, expect, it } from "vitest";
import type { S } from "../api/client";
import { dayKey, fileSize, mentionQuery, nameList, newClientId, outranks, roomTitle, userName } from "./format";

const room = (kind: S["RoomKind"], name: string | null): S["Room"] => ({
  id: 7,
  kind,
  name,
  topic: "",
  created_at: 0,
  last_seq: 0,
  member_count: 2,
});

describe("names", () => {
  it("shows the display name, else the username", () => {
    expect(userName({ username: "bob", display_name: "" })).toBe("bob");
    expect(userName({ username: "bob", display_name: " Bob B " })).toBe("Bob B");
  });

  it("names a direct room after the peer and a group room by its name", () => {
    const peer = { id: 2, username: "carol", display_name: "" };
    expect(roomTitle({ room: room("direct", null), peer, last_read_seq: 0, unread: 0 })).toBe("carol");
    expect(roomTitle({ room: room("public", "family"), last_read_seq: 0, unread: 0 })).toBe("family");
  });

  it("lists names the way people write them", () => {
    expect(nameList([])).toBe("");
    expect(nameList(["alice"])).toBe("alice");
    expect(nameList(["alice", "bob"])).toBe("alice and bob");
    expect(nameList(["alice", "bob", "carol"])).toBe("alice, bob and carol");
  });
});

describe("roles", () => {
  it("ranks owner over admin over member", () => {
    expect(outranks("owner", "admin")).toBe(true);
    expect(outranks("admin", "member")).toBe(true);
    expect(outranks("admin", "admin")).toBe(false);
    expect(outranks("member", "owner")).toBe(false);
    expect(outranks(null, "member")).toBe(false);
  });
});

describe("sizes, days and ids", () => {
  it("writes file sizes in B, KB and MB", () => {
    expect(fileSize(512)).toBe("512 B");
    expect(fileSize(48_213)).toBe("47 KB");
    expect(fileSize(10 * 1024 * 1024)).toBe("10.0 MB");
  });

  it("tells days apart", () => {
    const noon = new Date(2026, 10, 30, 12).getTime();
    expect(dayKey(noon)).toBe(dayKey(noon + 3_600_000));
    expect(dayKey(noon)).not.toBe(dayKey(noon + 86_400_000));
  });

  it("makes client ids the protocol accepts", () => {
    const id = newClientId("fwd");
    expect(id).toMatch(/^[A-Za-z0-9\-_.:]{1,64}$/);
    expect(newClientId("fwd")).not.toBe(id);
  });
});

describe("mentionQuery", () => {
  it("finds the @word before the caret", () => {
    expect(mentionQuery("hi @bo", 6)).toEqual({ start: 3, query: "bo" });
    expect(mentionQuery("@", 1)).toEqual({ start: 0, query: "" });
    expect(mentionQuery("hi @Bo there", 6)).toEqual({ start: 3, query: "bo" });
  });

  it("ignores addresses and finished words", () => {
    expect(mentionQuery("mail me@example", 15)).toBeNull();
    expect(mentionQuery("hi @bob ", 8)).toBeNull();
  });
});
