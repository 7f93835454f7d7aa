"""Schemathesis hooks for scripts/schemathesis.sh.

Two kinds of negative case that Schemathesis 3 misjudges are dropped; every other negative case,
one that breaks a declared parameter in a way that reaches the server, is kept:

- Cases that only add a query parameter the operation does not declare (`?after=0&=null`).
  OpenAPI cannot say that an operation's query parameters are closed, so a server that ignores
  an unknown one conforms to its document; Schemathesis 3 still counts accepting it as accepting
  invalid data (schemathesis/schemathesis#3730, fixed in Schemathesis 4).
- Cases whose invalid value for an optional query parameter is an empty list or `None`: the
  HTTP client sends nothing for those, so the server sees the parameter absent (which is valid,
  as it is optional) and rightly answers 200, which Schemathesis 3 counts as accepting the
  invalid value. (For a required parameter the case is kept: absent must be refused.)
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
