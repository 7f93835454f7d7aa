"""Schemathesis hooks for scripts/schemathesis.sh.

Three kinds of case that Schemathesis 3 misjudges are dropped; every other negative case,
one that breaks a declared parameter in a way that reaches the server, is kept:

- Cases that only add a query parameter the operation does not declare (`?after=0&=null`).
  OpenAPI cannot say that an operation's query parameters are closed, so a server that ignores
  an unknown one conforms to its document; Schemathesis 3 still counts accepting it as accepting
  invalid data (schemathesis/schemathesis#3730, fixed in Schemathesis 4).
- Cases whose invalid value for an optional query parameter is an empty list or `None`: the
  HTTP client sends nothing for those, so the server sees the parameter absent (which is valid,
  as it is optional) and rightly answers 200, which Schemathesis 3 counts as accepting the
  invalid value. (For a required parameter the case is kept: absent must be refused.)
- Cases with a control character in a header value (`X-Jeco-Csrf: \x7f`). Such a value is not
  HTTP (RFC 9110, field values), so the HTTP server refuses the request with a bare 400 before
  any route sees it; there is no answer of the document's to check.
"""

import schemathesis


@schemathesis.hook
def filter_query(context, query):
    if not query or context.operation is None:
        return True
    declared = {parameter.name: parameter for parameter in context.operation.query}
    if not all(name in declared for name in query):
        return False
    return not any(
        (value is None or value == []) and not declared[name].is_required
        for name, value in query.items()
    )


def _is_field_value(value):
    return isinstance(value, str) and not any(
        (ord(c) < 0x20 and c != "\t") or ord(c) == 0x7F for c in value
    )


@schemathesis.hook
def filter_headers(context, headers):
    return not headers or all(_is_field_value(value) for value in headers.values())
