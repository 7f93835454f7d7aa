"""The exceptions of ``jeco``: one hierarchy under :class:`JecoError`.

A server's refusal is raised as the class of its error *kind* (``NotFound`` for
``room_not_found``, ``RateLimited`` for ``rate_limited``...), with the stable ``code``
to branch on; failures on the client's side (no network, no session, the connection
closed) have classes of their own. See docs/PROTOCOL.md section 10.2 for every code.
"""

from __future__ import annotations

import json
from typing import Any


class JecoError(Exception):
    """Something went wrong with a call or a command.

    Attributes:
        code: the server's stable code (``room_not_found``, ``rate_limited``...), or for a
            failure on the client's side one of ``not_signed_in``, ``transport``,
            ``not_connected``, ``disconnected``, ``closed``, ``decode``, ``file``,
            ``invalid_url``, ``server``.
        status: the HTTP status; 0 for a reply on the real-time connection and for
            failures on the client's side.
        message: a sentence for people.
        field: the request field at fault, when the server named one.
        room_id: the room the error is about, when the server named one.
        transient: whether the very same call may succeed if tried again later.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "unknown",
        status: int = 0,
        field: str | None = None,
        room_id: int | None = None,
        transient: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.field = field
        self.room_id = room_id
        self.transient = transient

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status}, message={self.message!r})"


class Invalid(JecoError):
    """The input was malformed or broke a rule (400): change it before trying again."""


class Unauthenticated(JecoError):
    """No valid credentials (401)."""


class NotSignedIn(Unauthenticated):
    """No session: call ``login`` or ``register`` first (or the login was revoked)."""


class Forbidden(JecoError):
    """Authenticated, but not allowed (403)."""


class NotFound(JecoError):
    """The thing does not exist, or the caller may not know that it does (404)."""


class MethodNotAllowed(JecoError):
    """The route exists, but not with this method (405)."""


class Conflict(JecoError):
    """The request clashes with existing state, such as a taken name (409)."""


class TooLarge(JecoError):
    """The request or a part of it is larger than allowed (413)."""


class RateLimited(JecoError):
    """Too many requests or connections (429): wait ``retry_after`` seconds, then retry."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        """Seconds until the same call may succeed, when the server said."""


class Unavailable(JecoError):
    """The server or the network cannot serve this now; retry later."""


class TransportError(Unavailable):
    """The network or the HTTP/WebSocket layer failed."""


class NotConnected(Unavailable):
    """A real-time command needs an open connection, and there is none right now."""


class Disconnected(Unavailable):
    """The connection dropped before the reply arrived; whether the command took effect is unknown."""


class Internal(JecoError):
    """A fault on the server's side (500); the details are in its log."""


class ClientError(JecoError):
    """A failure of this client itself: a bad URL, an answer it cannot read, a file it cannot read."""


class Closed(ClientError):
    """The connection was closed for good."""


class ServerError(JecoError):
    """The embedded server could not start (a port in use, a database that cannot be opened)."""


_KINDS: dict[str, type[JecoError]] = {
    "invalid": Invalid,
    "unauthenticated": Unauthenticated,
    "forbidden": Forbidden,
    "not_found": NotFound,
    "method_not_allowed": MethodNotAllowed,
    "conflict": Conflict,
    "too_large": TooLarge,
    "rate_limited": RateLimited,
    "unavailable": Unavailable,
    "internal": Internal,
    "not_signed_in": NotSignedIn,
    "invalid_url": Invalid,
    "transport": TransportError,
    "not_connected": NotConnected,
    "disconnected": Disconnected,
    "closed": Closed,
    "server": ServerError,
}


def error_from_dict(data: dict[str, Any]) -> JecoError:
    """The exception a JSON error object of the native module describes."""
    cls = _KINDS.get(data.get("kind", ""), ClientError)
    kwargs: dict[str, Any] = {
        "code": data.get("code", "unknown"),
        "status": data.get("status", 0),
        "field": data.get("field"),
        "room_id": data.get("room_id"),
        "transient": data.get("transient", False),
    }
    if cls is RateLimited:
        ms = data.get("retry_after_ms")
        kwargs["retry_after"] = None if ms is None else ms / 1000
    return cls(data.get("message", ""), **kwargs)


def from_native(text: str) -> JecoError:
    """Called by the native module to raise its errors."""
    data: dict[str, Any] = json.loads(text)
    return error_from_dict(data)
