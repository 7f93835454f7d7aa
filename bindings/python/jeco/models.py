"""What Jeco talks about: accounts, rooms, messages, notifications... as frozen dataclasses.

They mirror ``jeco_proto``'s wire types field by field. Ids are ``int``; times are
``int`` milliseconds since the Unix epoch; sequences (``seq``) are ``int`` positions in a
room's (or the feed's) changes, 0 meaning nothing yet. Lists are tuples, so every value is
hashable and immutable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

RoomKind = Literal["public", "private", "direct"]
"""Who may see and join a room: anyone (``public``), members only (``private``), or the two
people of a ``direct`` room."""

Role = Literal["member", "admin", "owner"]
"""A member's rank in a group room."""

NotificationKind = Literal["direct_message", "mention", "reply", "reaction", "invite"]
"""Why a notification was made."""


@dataclass(frozen=True)
class UserRef:
    """A user as other users see them in lists."""

    id: int
    username: str
    display_name: str


@dataclass(frozen=True)
class Profile:
    """A user's public profile."""

    id: int
    username: str
    display_name: str
    avatar: int | None
    """The avatar's attachment id."""
    bio: str
    created_at: int


@dataclass(frozen=True)
class Account:
    """The signed-in user: their profile and their email address."""

    id: int
    username: str
    display_name: str
    avatar: int | None
    bio: str
    created_at: int
    email: str


@dataclass(frozen=True)
class Tokens:
    """A login's tokens: persist them to continue the session with ``restore``."""

    access_token: str = field(repr=False)
    access_expires_at: int
    refresh_token: str = field(repr=False)
    refresh_expires_at: int


@dataclass(frozen=True)
class Session:
    """What signing in returns."""

    account: Account
    tokens: Tokens


@dataclass(frozen=True)
class Room:
    """A room."""

    id: int
    kind: RoomKind
    name: str | None
    """``None`` for a direct room."""
    topic: str
    created_by: int | None
    created_at: int
    last_seq: int
    """The sequence of the room's latest change."""
    member_count: int


@dataclass(frozen=True)
class RoomSummary:
    """A room in the room list, with the caller's place in it."""

    room: Room
    role: Role | None
    """``None``: a public room the caller has not joined."""
    last_read_seq: int
    unread: int
    peer: UserRef | None
    """The other person of a direct room."""


@dataclass(frozen=True)
class Member:
    """A member of a room."""

    user: UserRef
    role: Role
    joined_at: int
    last_read_seq: int


@dataclass(frozen=True)
class AttachmentMeta:
    """An uploaded file."""

    id: int
    room_id: int | None
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class Reaction:
    """One emoji on a message, and who put it there."""

    emoji: str
    users: tuple[int, ...]


@dataclass(frozen=True)
class Message:
    """A message."""

    id: int
    room_id: int
    seq: int
    sender: UserRef
    client_id: str
    """The idempotency key it was sent with."""
    body: str
    reply_to: int | None
    forwarded_from: int | None
    attachments: tuple[AttachmentMeta, ...]
    mentions: tuple[int, ...]
    reactions: tuple[Reaction, ...]
    created_at: int
    edited_at: int | None
    deleted: bool


@dataclass(frozen=True)
class Notification:
    """Something that happened to the user (a mention, a direct message, an invitation...)."""

    id: int
    feed_seq: int
    kind: NotificationKind
    room_id: int
    message_id: int | None
    actor: UserRef
    detail: str | None
    created_at: int
    read: bool


@dataclass(frozen=True)
class Contact:
    """An entry of the contact list."""

    user: UserRef
    added_at: int | None


@dataclass(frozen=True)
class PresenceInfo:
    """Whether a user is online, and when they were last seen."""

    user_id: int
    online: bool
    last_seen: int | None


@dataclass(frozen=True)
class MessagePage:
    """A page of history; ``next`` continues in the same direction (``None``: the end)."""

    items: tuple[Message, ...]
    next: int | None


@dataclass(frozen=True)
class NotificationPage:
    """A page of notifications, newest first; ``next`` is the ``before`` of the next page."""

    items: tuple[Notification, ...]
    next: int | None


@dataclass(frozen=True)
class UnreadRoom:
    """One conversation's unread count."""

    room_id: int
    unread: int
    last_read_seq: int
    last_seq: int


@dataclass(frozen=True)
class UnreadSummary:
    """Unread counts of every conversation, and of notifications."""

    rooms: tuple[UnreadRoom, ...]
    notifications: int


@dataclass(frozen=True)
class Download:
    """A downloaded file."""

    data: bytes = field(repr=False)
    content_type: str
    file_name: str | None


@dataclass(frozen=True)
class RoomPosition:
    """How far a connection has read a room: saved to resume after a restart."""

    room_id: int
    seq: int


@dataclass(frozen=True)
class PendingSend:
    """A queued message not acknowledged yet: saved to send again after a restart."""

    room_id: int
    body: str
    client_id: str
    reply_to: int | None = None
    attachments: tuple[int, ...] = ()
