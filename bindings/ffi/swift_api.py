"""Prints the public API of UniFFI's generated Swift: the public types, their public
members and enum cases, one declaration a line, without bodies, comments or UniFFI's own
plumbing. scripts/ffi-test.sh diffs it against api/Jeco.swift, so a change of the Swift
surface shows in review.

Usage: python3 swift_api.py Jeco.swift
"""

import re
import sys

PLUMBING = re.compile(r"uniffi|FfiConverter|NoHandle|noHandle|unsafeFromHandle|RustBuffer|ForeignBytes", re.I)
MEMBER = re.compile(r"^(public |open |case |func |init|var |let |required |convenience |static )")


def strip_comments(src):
    src = re.sub(r"/\*.*?\*/", "", src, flags=re.S)
    return re.sub(r"//[^\n]*", "", src)


def public_head(head):
    return head.startswith(("public ", "open ")) and not PLUMBING.search(head)


def summary(src):
    out = []
    stack = []  # for each open brace: whether it is a public type whose members we list
    stmt = []
    paren = 0
    in_string = False

    def record():
        head = " ".join("".join(stmt).split()).replace("( ", "(").replace(" )", ")")
        head = re.sub(r"\)(async|throws)", r") \1", head)
        stmt.clear()
        if not head:
            return None
        if not stack and public_head(head):
            out.append(head)
        elif len(stack) == 1 and stack[0] and MEMBER.match(head) and not PLUMBING.search(head):
            if stack[0] == "all" or "init(" in head:
                out.append("    " + head)
        return head

    for ch in strip_comments(src):
        if ch == '"':
            in_string = not in_string
        if in_string:
            stmt.append(ch)
            continue
        if ch in "([":
            paren += 1
        elif ch in ")]":
            paren -= 1
        if paren == 0 and ch == "{":
            head = record() or ""
            kind = re.search(r"\b(protocol|class|struct|enum)\b", head)
            listed = not stack and public_head(head) and kind
            # A class's methods repeat its protocol's: of a class only the initialisers.
            stack.append(bool(listed) and ("init" if kind.group(1) == "class" else "all"))
        elif paren == 0 and ch == "}":
            record()
            if stack:
                stack.pop()
        elif paren == 0 and ch == "\n":
            # UniFFI puts some modifiers on a line of their own (`public` before an error
            # enum): the declaration goes on on the next line.
            if "".join(stmt).strip() not in ("public", "open"):
                record()
        else:
            stmt.append(ch)
    return out


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        print("\n".join(summary(f.read())))
