"""What a connection delivers: the server's live events and the client's own (state changes,
sends acknowledged or refused, resyncs), one frozen dataclass per ``type``.

Room events (``MessageCreated``, ``ReactionAdded``, ``MemberJoined``...) carry the room's
``seq`` and reach the application exactly once each, in order per room, across reconnections;
``Typing``, ``Presence`` and ``ReadReceipt`` are live only. Match on the class::

    match event:
        case jeco.MessageCreated(message=m): ...
        case jeco.StateChanged(state="reconnecting"): ...
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, Union

from ._decode import decode
from ._errors import JecoError, error_from_dict
from .models import Message, Notification, Role, UserRef

ConnectionStateName = Literal["connecting", "connected", "reconnecting", "stopped"]


@dataclass(frozen=True)
class StateChanged:
    """The connection's state changed (or, as a subscription's first event, what it is now).

    ``connected`` carries ``user_id`` and ``resumed`` (whether missed events follow);
    ``reconnecting`` and ``stopped`` carry the ``reason``. Nothing follows ``stopped``.
    """

    state: ConnectionStateName
    user_id: int | None = None
    resumed: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class Sent:
    """A message queued with ``send`` was stored."""

    client_id: str
    message: Message


@dataclass(frozen=True)
class SendFailed:
    """A message queued with ``send`` was refused on its merits and will not be retried."""

    client_id: str
    room_id: int
    error: JecoError


@dataclass(frozen=True)
class Resync:
    """The room's events up to ``seq`` will not be delivered: reload its history over REST."""

    room_id: int
    seq: int


@dataclass(frozen=True)
class FeedResync:
    """The feed's entries up to ``feed_seq`` will not be delivered: reload notifications."""

    feed_seq: int


@dataclass(frozen=True)
class MessageCreated:
    """A message was posted."""

    room_id: int
    seq: int
    message: Message


@dataclass(frozen=True)
class MessageEdited:
    """A message's text was replaced."""

    room_id: int
    seq: int
    message: Message


@dataclass(frozen=True)
class MessageDeleted:
    """A message was deleted (by its author or an admin, ``by``)."""

    room_id: int
    seq: int
    message_id: int
    by: int


@dataclass(frozen=True)
class ReactionAdded:
    """Someone put a reaction on a message."""

    room_id: int
    seq: int
    message_id: int
    user_id: int
    emoji: str


@dataclass(frozen=True)
class ReactionRemoved:
    """Someone took back a reaction."""

    room_id: int
    seq: int
    message_id: int
    user_id: int
    emoji: str


@dataclass(frozen=True)
class MemberJoined:
    """Someone joined the room, or was added by ``by``."""

    room_id: int
    seq: int
    user: UserRef
    role: Role
    by: int | None


@dataclass(frozen=True)
class MemberLeft:
    """Someone left the room (``reason="left"``) or was removed by ``by`` (``"kicked"``)."""

    room_id: int
    seq: int
    user_id: int
    reason: Literal["left", "kicked"]
    by: int | None


@dataclass(frozen=True)
class MemberRole:
    """A member's role changed."""

    room_id: int
    seq: int
    user_id: int
    role: Role


@dataclass(frozen=True)
class ReadReceipt:
    """A member read the room up to ``seq`` (live only)."""

    room_id: int
    user_id: int
    seq: int


@dataclass(frozen=True)
class Typing:
    """A member started (``active``) or stopped typing; it lapses after ``expires_in_ms``."""

    room_id: int
    user_id: int
    active: bool
    expires_in_ms: int


@dataclass(frozen=True)
class Presence:
    """A user came online or went offline (live only)."""

    user_id: int
    online: bool
    last_seen: int | None


@dataclass(frozen=True)
class NotificationReceived:
    """A notification for the user."""

    notification: Notification


@dataclass(frozen=True)
class Membership:
    """The user joined (``joined``) or left a room; its events follow from ``room_seq``."""

    feed_seq: int
    room_id: int
    room_seq: int
    joined: bool


@dataclass(frozen=True)
class BlockChanged:
    """The user blocked (``blocked``) or unblocked someone, on this or another device."""

    user_id: int
    blocked: bool


@dataclass(frozen=True)
class NotificationsRead:
    """Notifications were marked read (``all`` of them, or ``ids``); ``unread`` remain."""

    ids: tuple[int, ...]
    all: bool
    unread: int


@dataclass(frozen=True)
class RoomActivity:
    """A public room the user has not joined has new changes up to ``last_seq``."""

    room_id: int
    last_seq: int


@dataclass(frozen=True)
class SignedOut:
    """Every login of the account was signed out; the connection stops."""

    reason: str


@dataclass(frozen=True)
class UnknownEvent:
    """An event this version does not know; ``data`` is its JSON object."""

    type: str
    data: dict[str, Any]


Event = Union[
    StateChanged,
    Sent,
    SendFailed,
    Resync,
    FeedResync,
    MessageCreated,
    MessageEdited,
    MessageDeleted,
    ReactionAdded,
    ReactionRemoved,
    MemberJoined,
    MemberLeft,
    MemberRole,
    ReadReceipt,
    Typing,
    Presence,
    NotificationReceived,
    Membership,
    BlockChanged,
    NotificationsRead,
    RoomActivity,
    SignedOut,
    UnknownEvent,
]
"""Everything ``events()`` yields and ``on_event`` callbacks receive."""

_TYPES: dict[str, type[Any]] = {
    "state": StateChanged,
    "sent": Sent,
    "resync": Resync,
    "feed_resync": FeedResync,
    "message.created": MessageCreated,
    "message.edited": MessageEdited,
    "message.deleted": MessageDeleted,
    "reaction.added": ReactionAdded,
    "reaction.removed": ReactionRemoved,
    "member.joined": MemberJoined,
    "member.left": MemberLeft,
    "member.role": MemberRole,
    "read": ReadReceipt,
    "typing": Typing,
    "presence": Presence,
    "notification": NotificationReceived,
    "membership": Membership,
    "block": BlockChanged,
    "notifications.read": NotificationsRead,
    "room.activity": RoomActivity,
    "signed_out": SignedOut,
}


def event_from_dict(data: dict[str, Any]) -> Event:
    """The event class for one parsed JSON event."""
    kind = str(data.get("type", ""))
    if kind == "send_failed":
        return SendFailed(
            client_id=data["client_id"],
            room_id=data["room_id"],
            error=error_from_dict(data["error"]),
        )
    cls = _TYPES.get(kind)
    if cls is None:
        return UnknownEvent(type=kind, data=data)
    event: Event = decode(cls, data)
    return event


def event_from_json(text: str) -> Event:
    """The event class for one event as the native module gives it."""
    data: dict[str, Any] = json.loads(text)
    return event_from_dict(data)


@dataclass(frozen=True)
class Changes:
    """A room's changes after a sequence (``changes``), the REST way to catch up."""

    events: tuple[Event, ...]
    last_seq: int
    has_more: bool


@dataclass(frozen=True)
class Feed:
    """The user's feed after a sequence (``feed``)."""

    events: tuple[Event, ...]
    feed_seq: int
    has_more: bool
