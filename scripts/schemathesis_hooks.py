"""Schemathesis hooks for scripts/schemathesis.sh.

Negative cases that only add a query parameter the operation does not declare (`?after=0&=null`)
are dropped. OpenAPI cannot say that an operation's query parameters are closed, so a server
that ignores an unknown one conforms to its document; Schemathesis 3 still counts accepting
it as accepting invalid data (schemathesis/schemathesis#3730, fixed in Schemathesis 4).
Negative cases that break a declared parameter are kept.
"""

import schemathesis


@schemathesis.hook
def filter_query(context, query):
    if not query or context.operation is None:
        return True
    declared = {parameter.name for parameter in context.operation.query}
    return all(name in declared for name in query)
