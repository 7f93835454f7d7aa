"""The REST calls, each as a :class:`Call`: the native call's name, its JSON arguments and how
to read its result. :class:`~jeco.AsyncClient` awaits them, :class:`~jeco.Client` blocks on
them; both are defined by this one table."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Generic, TypeVar

from ._decode import decode
from .events import Changes, Feed, event_from_dict
from .models import (
    Account,
    Contact,
    Member,
    Message,
    MessagePage,
    NotificationPage,
    PresenceInfo,
    Profile,
    Role,
    Room,
    RoomKind,
    RoomSummary,
    Session,
    Tokens,
    UnreadSummary,
    UserRef,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Call(Generic[T]):
    """One REST call: ``op`` with ``args``; ``read`` turns the parsed JSON result into ``T``."""

    op: str
    args: str
    read: Callable[[Any], T]


def _call(op: str, read: Callable[[Any], T], **args: Any) -> Call[T]:
    return Call(op, json.dumps({k: v for k, v in args.items() if v is not None}), read)


def _none(_: Any) -> None:
    return None


def _one(cls: type[T]) -> Callable[[Any], T]:
    return lambda data: decode(cls, data)


def _many(cls: type[T]) -> Callable[[Any], list[T]]:
    return lambda data: [decode(cls, item) for item in data]


def _int(data: Any) -> int:
    return int(data)


def _bool(data: Any) -> bool:
    return bool(data)


def _changes(data: Any) -> Changes:
    events = tuple(event_from_dict(e) for e in data["events"])
    return Changes(events=events, last_seq=data["last_seq"], has_more=data["has_more"])


def _feed(data: Any) -> Feed:
    events = tuple(event_from_dict(e) for e in data["events"])
    return Feed(events=events, feed_seq=data["feed_seq"], has_more=data["has_more"])


def _tokens_or_none(data: Any) -> Tokens | None:
    return None if data is None else decode(Tokens, data)


def register(username: str, email: str, password: str) -> Call[Session]:
    return _call("register", _one(Session), username=username, email=email, password=password)


def login(login: str, password: str) -> Call[Session]:
    return _call("login", _one(Session), login=login, password=password)


def logout() -> Call[None]:
    return _call("logout", _none)


def refresh() -> Call[Tokens]:
    return _call("refresh", _one(Tokens))


def restore(tokens: Tokens) -> Call[None]:
    return _call("restore", _none, tokens=asdict(tokens))


def tokens() -> Call[Tokens | None]:
    return _call("tokens", _tokens_or_none)


def change_password(current: str, new: str) -> Call[Tokens]:
    return _call("change_password", _one(Tokens), current=current, new=new)


def request_password_reset(email: str) -> Call[None]:
    return _call("request_password_reset", _none, email=email)


def confirm_password_reset(token: str, new_password: str) -> Call[None]:
    return _call("confirm_password_reset", _none, token=token, new_password=new_password)


def health() -> Call[None]:
    return _call("health", _none)


def ready() -> Call[None]:
    return _call("ready", _none)


def me() -> Call[Account]:
    return _call("me", _one(Account))


def update_profile(
    display_name: str | None, bio: str | None, avatar: int | None, clear_avatar: bool
) -> Call[Account]:
    update: dict[str, Any] = {"display_name": display_name, "bio": bio}
    update = {k: v for k, v in update.items() if v is not None}
    if clear_avatar:
        update["avatar"] = None
    elif avatar is not None:
        update["avatar"] = avatar
    return _call("update_profile", _one(Account), update=update)


def profile(user: int) -> Call[Profile]:
    return _call("profile", _one(Profile), user=user)


def search_users(q: str, limit: int | None) -> Call[list[UserRef]]:
    return _call("search_users", _many(UserRef), q=q, limit=limit)


def presence(users: Sequence[int]) -> Call[list[PresenceInfo]]:
    return _call("presence", _many(PresenceInfo), users=list(users))


def contacts() -> Call[list[Contact]]:
    return _call("contacts", _many(Contact))


def add_contact(user: int) -> Call[None]:
    return _call("add_contact", _none, user=user)


def remove_contact(user: int) -> Call[None]:
    return _call("remove_contact", _none, user=user)


def blocked_users() -> Call[list[UserRef]]:
    return _call("blocked_users", _many(UserRef))


def block(user: int) -> Call[None]:
    return _call("block", _none, user=user)


def unblock(user: int) -> Call[None]:
    return _call("unblock", _none, user=user)


def rooms() -> Call[list[RoomSummary]]:
    return _call("rooms", _many(RoomSummary))


def create_room(name: str, kind: RoomKind, topic: str) -> Call[Room]:
    return _call("create_room", _one(Room), name=name, kind=kind, topic=topic)


def room(room: int) -> Call[Room]:
    return _call("room", _one(Room), room=room)


def join_room(room: int) -> Call[Room]:
    return _call("join_room", _one(Room), room=room)


def leave_room(room: int) -> Call[None]:
    return _call("leave_room", _none, room=room)


def members(room: int) -> Call[list[Member]]:
    return _call("members", _many(Member), room=room)


def invite(room: int, user: int) -> Call[None]:
    return _call("invite", _none, room=room, user=user)


def kick(room: int, user: int) -> Call[None]:
    return _call("kick", _none, room=room, user=user)


def set_role(room: int, user: int, role: Role) -> Call[None]:
    return _call("set_role", _none, room=room, user=user, role=role)


def open_direct(user: int) -> Call[Room]:
    return _call("open_direct", _one(Room), user=user)


def mark_read(room: int, seq: int) -> Call[int]:
    return _call("mark_read", _int, room=room, seq=seq)


def set_typing(room: int, active: bool) -> Call[None]:
    return _call("set_typing", _none, room=room, active=active)


def unread() -> Call[UnreadSummary]:
    return _call("unread", _one(UnreadSummary))


def history(room: int, before: int | None, after: int | None, limit: int | None) -> Call[MessagePage]:
    query = {k: v for k, v in {"before": before, "after": after, "limit": limit}.items() if v is not None}
    return _call("history", _one(MessagePage), room=room, query=query)


def changes(room: int, after: int, limit: int | None) -> Call[Changes]:
    return _call("changes", _changes, room=room, after=after, limit=limit)


def send_message(
    room: int, body: str, reply_to: int | None, attachments: Sequence[int], client_id: str
) -> Call[Message]:
    message = {
        "client_id": client_id,
        "body": body,
        "reply_to": reply_to,
        "attachments": list(attachments),
    }
    return _call("send_message", _one(Message), room=room, message=message)


def message(message: int) -> Call[Message]:
    return _call("message", _one(Message), message=message)


def edit_message(message: int, body: str) -> Call[Message]:
    return _call("edit_message", _one(Message), message=message, body=body)


def delete_message(message: int) -> Call[None]:
    return _call("delete_message", _none, message=message)


def react(message: int, emoji: str, add: bool | None) -> Call[bool]:
    return _call("react", _bool, message=message, emoji=emoji, add=add)


def forward_message(message: int, to: int, client_id: str) -> Call[Message]:
    return _call("forward_message", _one(Message), message=message, to=to, client_id=client_id)


def read_by(message: int) -> Call[list[UserRef]]:
    return _call("read_by", _many(UserRef), message=message)


def notifications(before: int | None, unread_only: bool, limit: int | None) -> Call[NotificationPage]:
    query = {k: v for k, v in {"before": before, "limit": limit}.items() if v is not None}
    query["unread_only"] = unread_only
    return _call("notifications", _one(NotificationPage), query=query)


def unread_notification_count() -> Call[int]:
    return _call("unread_notification_count", _int)


def mark_notification_read(notification: int) -> Call[None]:
    return _call("mark_notification_read", _none, notification=notification)


def mark_all_notifications_read() -> Call[int]:
    return _call("mark_all_notifications_read", _int)


def feed(after: int, limit: int | None) -> Call[Feed]:
    return _call("feed", _feed, after=after, limit=limit)
