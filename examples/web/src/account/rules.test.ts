import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { formErrors } from "./formErrors";
import { passwordProblem, usernameProblem } from "./rules";

describe("the server's rules, checked early", () => {
  it("usernames: 3 to 32 of a-z 0-9 _, not starting with _", () => {
    expect(usernameProblem("ab")).toBeDefined();
    expect(usernameProblem("_abc")).toBeDefined();
    expect(usernameProblem("ab-c")).toBeDefined();
    expect(usernameProblem(" Alice_1 ")).toBeUndefined();
    expect(usernameProblem("a".repeat(33))).toBeDefined();
  });

  it("passwords: length, not only digits, not the username", () => {
    expect(passwordProblem("short")).toBeDefined();
    expect(passwordProblem("123456789")).toBeDefined();
    expect(passwordProblem("my alice password", "Alice")).toBeDefined();
    expect(passwordProblem("correct horse battery", "alice")).toBeUndefined();
    expect(passwordProblem("x".repeat(129))).toBeDefined();
  });
});

describe("formErrors", () => {
  it("puts a field's error next to the field, as a sentence", () => {
    const e = new ApiError("weak_password", "use at least 8 characters", 400, undefined, "password");
    expect(formErrors(e, ["password"])).toEqual({ fields: { password: "Use at least 8 characters." } });
  });

  it("names the field of codes that come without one", () => {
    const e = new ApiError("username_taken", "that username is taken", 409);
    expect(formErrors(e, ["username"], { username_taken: "username" }).fields.username).toBe("That username is taken.");
  });

  it("keeps other errors for the whole form", () => {
    const e = new ApiError("invalid_credentials", "wrong username or password", 401);
    expect(formErrors(e, ["login"])).toEqual({ fields: {}, form: "Wrong username or password." });
    expect(formErrors(new Error("boom"), []).form).toBe("Boom.");
  });
});
