"""The clients: :class:`AsyncClient` for asyncio and :class:`Client` for plain Python (each
call blocks with the GIL released). Both run on the Rust client's own Tokio runtime and have
the same methods: every REST call of ``jeco-client``, file transfers, and :meth:`connect`
for the real-time connection."""

from __future__ import annotations

import json
import os
import weakref
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Literal, TypeVar

from . import _jeco, _ops
from ._connection import AsyncConnection, Connection, connect_args
from ._decode import decode
from .events import Changes, Feed
from .models import (
    Account,
    AttachmentMeta,
    Contact,
    Download,
    Member,
    Message,
    MessagePage,
    NotificationPage,
    PendingSend,
    PresenceInfo,
    Profile,
    Role,
    Room,
    RoomKind,
    RoomPosition,
    RoomSummary,
    Session,
    Tokens,
    UnreadSummary,
    UserRef,
)

T = TypeVar("T")

Transport = Literal["websocket", "sse"]
"""How a connection reaches the server: a WebSocket (the default) or Server-Sent Events."""

Progress = Callable[[int, int], object]
"""Told ``(sent, total)`` bytes of an upload."""


def _file(data: bytes | None, path: str | os.PathLike[str] | None) -> tuple[bytes | None, str | None]:
    if (data is None) == (path is None):
        raise ValueError("give either data or path")
    return data, None if path is None else os.fspath(path)


class AsyncClient:
    """A client of one Jeco server, for asyncio::

        async with jeco.AsyncClient("http://127.0.0.1:8080") as client:
            await client.login("alice", "correct horse battery")
            async with client.connect() as conn:
                async for event in conn.events(): ...

    Tokens are refreshed when needed. Cancelling a task that awaits a call cancels the call.
    Leaving ``async with`` closes the connections the client opened.
    """

    def __init__(self, url: str) -> None:
        self._native = _jeco.NativeClient(url)
        self._connections: weakref.WeakSet[AsyncConnection] = weakref.WeakSet()

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self._native.base_url

    def __repr__(self) -> str:
        return f"AsyncClient({self.url!r})"

    async def _run(self, call: _ops.Call[T]) -> T:
        text: str = await self._native.call(call.op, call.args, False)
        return call.read(json.loads(text))

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for conn in list(self._connections):
            conn.close()

    def connect(
        self,
        *,
        transport: Transport = "websocket",
        rooms: Iterable[RoomPosition] = (),
        feed_seq: int | None = None,
        outbox: Iterable[PendingSend] = (),
        backoff_base: float = 0.1,
        backoff_max: float = 10.0,
        queue_capacity: int = 1024,
    ) -> AsyncConnection:
        """Opens a real-time connection in the background (sign in first). It reconnects with
        backoff and resumes: missed events are replayed, repeats dropped, queued sends sent
        again. ``rooms``, ``feed_seq`` and ``outbox`` continue from a state saved from an
        earlier connection (``positions()``, ``feed_seq()``, ``pending_sends()``)."""
        native = self._native.connect(
            *connect_args(transport, rooms, feed_seq, outbox, backoff_base, backoff_max, queue_capacity)
        )
        conn = AsyncConnection(native)
        self._connections.add(conn)
        return conn

    async def upload_attachment(
        self,
        room: int,
        data: bytes | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        file_name: str | None = None,
        progress: Progress | None = None,
    ) -> AttachmentMeta:
        """Uploads ``data`` or the file at ``path`` to ``room``; put its ``id`` in a message's
        ``attachments``. ``progress(sent, total)`` is called as the bytes go out, from a thread
        of the client's runtime."""
        data, path = _file(data, path)
        text: str = await self._native.upload(room, data, path, file_name, progress, False)
        return decode(AttachmentMeta, json.loads(text))

    async def upload_avatar(
        self,
        data: bytes | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        file_name: str | None = None,
        progress: Progress | None = None,
    ) -> AttachmentMeta:
        """Uploads an image (PNG, JPEG, GIF or WebP) for the avatar; set it with
        ``update_profile(avatar=...)``. ``progress`` as for :meth:`upload_attachment`."""
        data, path = _file(data, path)
        text: str = await self._native.upload(None, data, path, file_name, progress, False)
        return decode(AttachmentMeta, json.loads(text))

    async def download(self, attachment: int) -> Download:
        """A file's content."""
        data, content_type, file_name = await self._native.download(attachment, False, False)
        return Download(data=data, content_type=content_type, file_name=file_name)

    async def thumbnail(self, attachment: int) -> Download:
        """A PNG of an image attachment, fitted into 256x256 pixels."""
        data, content_type, file_name = await self._native.download(attachment, True, False)
        return Download(data=data, content_type=content_type, file_name=file_name)

    async def register(self, username: str, email: str, password: str) -> Session:
        """Creates an account (joined to ``general``) and signs it in."""
        return await self._run(_ops.register(username, email, password))

    async def login(self, login: str, password: str) -> Session:
        """Signs in with a username or email and a password."""
        return await self._run(_ops.login(login, password))

    async def logout(self) -> None:
        """Signs this login out on the server and forgets the tokens. Open connections stay open until closed."""
        return await self._run(_ops.logout())

    async def refresh(self) -> Tokens:
        """Refreshes the tokens now, whatever their age (the client also does it by itself when needed)."""
        return await self._run(_ops.refresh())

    async def restore(self, tokens: Tokens) -> None:
        """Continues a session saved from :meth:`tokens`."""
        return await self._run(_ops.restore(tokens))

    async def tokens(self) -> Tokens | None:
        """The current tokens, to persist; ``None`` when signed out."""
        return await self._run(_ops.tokens())

    async def change_password(self, current: str, new: str) -> Tokens:
        """Changes the password; every other login of the account is signed out, this one gets new tokens."""
        return await self._run(_ops.change_password(current, new))

    async def request_password_reset(self, email: str) -> None:
        """Asks for a password-reset mail (the answer is the same whether or not the address has an account)."""
        return await self._run(_ops.request_password_reset(email))

    async def confirm_password_reset(self, token: str, new_password: str) -> None:
        """Sets a new password with the token from the reset mail; every login of the account is signed out."""
        return await self._run(_ops.confirm_password_reset(token, new_password))

    async def health(self) -> None:
        """Returns when the server process is up (``GET /healthz``)."""
        return await self._run(_ops.health())

    async def ready(self) -> None:
        """Returns when the server can serve requests (``GET /readyz``); ``Unavailable`` otherwise."""
        return await self._run(_ops.ready())

    async def me(self) -> Account:
        """The signed-in account."""
        return await self._run(_ops.me())

    async def update_profile(self, *, display_name: str | None = None, bio: str | None = None, avatar: int | None = None, clear_avatar: bool = False) -> Account:
        """Changes the display name, bio or avatar (an image uploaded with :meth:`upload_avatar`); what is not given stays."""
        return await self._run(_ops.update_profile(display_name, bio, avatar, clear_avatar))

    async def profile(self, user: int) -> Profile:
        """A user's public profile."""
        return await self._run(_ops.profile(user))

    async def search_users(self, q: str, limit: int | None = None) -> list[UserRef]:
        """Users whose username starts with ``q``, or whose email is ``q``."""
        return await self._run(_ops.search_users(q, limit))

    async def presence(self, users: Sequence[int]) -> list[PresenceInfo]:
        """Who of ``users`` is online, and when the others were last seen."""
        return await self._run(_ops.presence(users))

    async def contacts(self) -> list[Contact]:
        """The contact list."""
        return await self._run(_ops.contacts())

    async def add_contact(self, user: int) -> None:
        """Adds a contact."""
        return await self._run(_ops.add_contact(user))

    async def remove_contact(self, user: int) -> None:
        """Removes a contact."""
        return await self._run(_ops.remove_contact(user))

    async def blocked_users(self) -> list[UserRef]:
        """The users the caller blocks."""
        return await self._run(_ops.blocked_users())

    async def block(self, user: int) -> None:
        """Blocks a user: no direct messages or invitations between the two while it lasts."""
        return await self._run(_ops.block(user))

    async def unblock(self, user: int) -> None:
        """Lifts a block."""
        return await self._run(_ops.unblock(user))

    async def rooms(self) -> list[RoomSummary]:
        """The rooms the user is in, and the public rooms they may join."""
        return await self._run(_ops.rooms())

    async def create_room(self, name: str, kind: RoomKind = "public", topic: str = "") -> Room:
        """Creates a group room; the caller becomes its owner."""
        return await self._run(_ops.create_room(name, kind, topic))

    async def room(self, room: int) -> Room:
        """One room."""
        return await self._run(_ops.room(room))

    async def join_room(self, room: int) -> Room:
        """Joins a public room."""
        return await self._run(_ops.join_room(room))

    async def leave_room(self, room: int) -> None:
        """Leaves a group room."""
        return await self._run(_ops.leave_room(room))

    async def members(self, room: int) -> list[Member]:
        """The members of a room, owner first."""
        return await self._run(_ops.members(room))

    async def invite(self, room: int, user: int) -> None:
        """Adds someone to a group room (admins and the owner)."""
        return await self._run(_ops.invite(room, user))

    async def kick(self, room: int, user: int) -> None:
        """Removes a member from a group room (admins and the owner)."""
        return await self._run(_ops.kick(room, user))

    async def set_role(self, room: int, user: int, role: Role) -> None:
        """Gives a member a role (the owner only); making someone ``owner`` hands the room over."""
        return await self._run(_ops.set_role(room, user, role))

    async def open_direct(self, user: int) -> Room:
        """The direct room with ``user``, created on first use."""
        return await self._run(_ops.open_direct(user))

    async def mark_read(self, room: int, seq: int) -> int:
        """Marks a room read up to ``seq``; the watermark now."""
        return await self._run(_ops.mark_read(room, seq))

    async def set_typing(self, room: int, active: bool = True) -> None:
        """Says the user is typing in a room (it lapses by itself), or stopped."""
        return await self._run(_ops.set_typing(room, active))

    async def unread(self) -> UnreadSummary:
        """Unread counts of every conversation, and of notifications."""
        return await self._run(_ops.unread())

    async def history(self, room: int, *, before: int | None = None, after: int | None = None, limit: int | None = None) -> MessagePage:
        """A page of messages: before ``before`` newest first (the latest without either), or after ``after`` oldest first."""
        return await self._run(_ops.history(room, before, after, limit))

    async def changes(self, room: int, after: int = 0, limit: int | None = None) -> Changes:
        """A room's changes after ``after``, in order: the REST way to catch up."""
        return await self._run(_ops.changes(room, after, limit))

    async def send_message(self, room: int, body: str, *, reply_to: int | None = None, attachments: Sequence[int] = (), client_id: str = "") -> Message:
        """Posts a message over REST (a connection's ``send`` goes through the outbox instead). Retrying with the same ``client_id`` returns the first message instead of posting another."""
        return await self._run(_ops.send_message(room, body, reply_to, attachments, client_id))

    async def message(self, message: int) -> Message:
        """One message."""
        return await self._run(_ops.message(message))

    async def edit_message(self, message: int, body: str) -> Message:
        """Replaces the text of one's own message."""
        return await self._run(_ops.edit_message(message, body))

    async def delete_message(self, message: int) -> None:
        """Deletes a message (the author, or a room admin); it stays as a tombstone."""
        return await self._run(_ops.delete_message(message))

    async def react(self, message: int, emoji: str, add: bool | None = True) -> bool:
        """Puts (``add=True``), takes back (``False``) or toggles (``None``) a reaction; whether it is present now."""
        return await self._run(_ops.react(message, emoji, add))

    async def forward_message(self, message: int, to: int, client_id: str = "") -> Message:
        """Shares a message into another room the caller is in."""
        return await self._run(_ops.forward_message(message, to, client_id))

    async def read_by(self, message: int) -> list[UserRef]:
        """Who, apart from the author, has read a message."""
        return await self._run(_ops.read_by(message))

    async def notifications(self, *, before: int | None = None, unread_only: bool = False, limit: int | None = None) -> NotificationPage:
        """A page of notifications, newest first."""
        return await self._run(_ops.notifications(before, unread_only, limit))

    async def unread_notification_count(self) -> int:
        """How many notifications are unread."""
        return await self._run(_ops.unread_notification_count())

    async def mark_notification_read(self, notification: int) -> None:
        """Marks one notification read."""
        return await self._run(_ops.mark_notification_read(notification))

    async def mark_all_notifications_read(self) -> int:
        """Marks every notification read; how many were unread."""
        return await self._run(_ops.mark_all_notifications_read())

    async def feed(self, after: int = 0, limit: int | None = None) -> Feed:
        """The user's feed (notifications and membership changes) after ``after``."""
        return await self._run(_ops.feed(after, limit))


class Client:
    """A client of one Jeco server, for plain Python: every call blocks (with the GIL
    released, so other threads run; Ctrl-C interrupts it)::

        with jeco.Client("http://127.0.0.1:8080") as client:
            client.login("alice", "correct horse battery")
            with client.connect() as conn:
                for event in conn.events(): ...

    It is safe to use from several threads, and from ``on_event`` callbacks. Leaving
    ``with`` closes the connections the client opened.
    """

    def __init__(self, url: str) -> None:
        self._native = _jeco.NativeClient(url)
        self._connections: weakref.WeakSet[Connection] = weakref.WeakSet()

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self._native.base_url

    def __repr__(self) -> str:
        return f"Client({self.url!r})"

    def _run(self, call: _ops.Call[T]) -> T:
        text: str = self._native.call(call.op, call.args, True)
        return call.read(json.loads(text))

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for conn in list(self._connections):
            conn.close()

    def connect(
        self,
        *,
        transport: Transport = "websocket",
        rooms: Iterable[RoomPosition] = (),
        feed_seq: int | None = None,
        outbox: Iterable[PendingSend] = (),
        backoff_base: float = 0.1,
        backoff_max: float = 10.0,
        queue_capacity: int = 1024,
    ) -> Connection:
        """Opens a real-time connection in the background (sign in first). It reconnects with
        backoff and resumes: missed events are replayed, repeats dropped, queued sends sent
        again. ``rooms``, ``feed_seq`` and ``outbox`` continue from a state saved from an
        earlier connection (``positions()``, ``feed_seq()``, ``pending_sends()``)."""
        native = self._native.connect(
            *connect_args(transport, rooms, feed_seq, outbox, backoff_base, backoff_max, queue_capacity)
        )
        conn = Connection(native)
        self._connections.add(conn)
        return conn

    def upload_attachment(
        self,
        room: int,
        data: bytes | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        file_name: str | None = None,
        progress: Progress | None = None,
    ) -> AttachmentMeta:
        """Uploads ``data`` or the file at ``path`` to ``room``; put its ``id`` in a message's
        ``attachments``. ``progress(sent, total)`` is called as the bytes go out, from a thread
        of the client's runtime."""
        data, path = _file(data, path)
        text: str = self._native.upload(room, data, path, file_name, progress, True)
        return decode(AttachmentMeta, json.loads(text))

    def upload_avatar(
        self,
        data: bytes | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        file_name: str | None = None,
        progress: Progress | None = None,
    ) -> AttachmentMeta:
        """Uploads an image (PNG, JPEG, GIF or WebP) for the avatar; set it with
        ``update_profile(avatar=...)``. ``progress`` as for :meth:`upload_attachment`."""
        data, path = _file(data, path)
        text: str = self._native.upload(None, data, path, file_name, progress, True)
        return decode(AttachmentMeta, json.loads(text))

    def download(self, attachment: int) -> Download:
        """A file's content."""
        data, content_type, file_name = self._native.download(attachment, False, True)
        return Download(data=data, content_type=content_type, file_name=file_name)

    def thumbnail(self, attachment: int) -> Download:
        """A PNG of an image attachment, fitted into 256x256 pixels."""
        data, content_type, file_name = self._native.download(attachment, True, True)
        return Download(data=data, content_type=content_type, file_name=file_name)

    def register(self, username: str, email: str, password: str) -> Session:
        """Creates an account (joined to ``general``) and signs it in."""
        return self._run(_ops.register(username, email, password))

    def login(self, login: str, password: str) -> Session:
        """Signs in with a username or email and a password."""
        return self._run(_ops.login(login, password))

    def logout(self) -> None:
        """Signs this login out on the server and forgets the tokens. Open connections stay open until closed."""
        return self._run(_ops.logout())

    def refresh(self) -> Tokens:
        """Refreshes the tokens now, whatever their age (the client also does it by itself when needed)."""
        return self._run(_ops.refresh())

    def restore(self, tokens: Tokens) -> None:
        """Continues a session saved from :meth:`tokens`."""
        return self._run(_ops.restore(tokens))

    def tokens(self) -> Tokens | None:
        """The current tokens, to persist; ``None`` when signed out."""
        return self._run(_ops.tokens())

    def change_password(self, current: str, new: str) -> Tokens:
        """Changes the password; every other login of the account is signed out, this one gets new tokens."""
        return self._run(_ops.change_password(current, new))

    def request_password_reset(self, email: str) -> None:
        """Asks for a password-reset mail (the answer is the same whether or not the address has an account)."""
        return self._run(_ops.request_password_reset(email))

    def confirm_password_reset(self, token: str, new_password: str) -> None:
        """Sets a new password with the token from the reset mail; every login of the account is signed out."""
        return self._run(_ops.confirm_password_reset(token, new_password))

    def health(self) -> None:
        """Returns when the server process is up (``GET /healthz``)."""
        return self._run(_ops.health())

    def ready(self) -> None:
        """Returns when the server can serve requests (``GET /readyz``); ``Unavailable`` otherwise."""
        return self._run(_ops.ready())

    def me(self) -> Account:
        """The signed-in account."""
        return self._run(_ops.me())

    def update_profile(self, *, display_name: str | None = None, bio: str | None = None, avatar: int | None = None, clear_avatar: bool = False) -> Account:
        """Changes the display name, bio or avatar (an image uploaded with :meth:`upload_avatar`); what is not given stays."""
        return self._run(_ops.update_profile(display_name, bio, avatar, clear_avatar))

    def profile(self, user: int) -> Profile:
        """A user's public profile."""
        return self._run(_ops.profile(user))

    def search_users(self, q: str, limit: int | None = None) -> list[UserRef]:
        """Users whose username starts with ``q``, or whose email is ``q``."""
        return self._run(_ops.search_users(q, limit))

    def presence(self, users: Sequence[int]) -> list[PresenceInfo]:
        """Who of ``users`` is online, and when the others were last seen."""
        return self._run(_ops.presence(users))

    def contacts(self) -> list[Contact]:
        """The contact list."""
        return self._run(_ops.contacts())

    def add_contact(self, user: int) -> None:
        """Adds a contact."""
        return self._run(_ops.add_contact(user))

    def remove_contact(self, user: int) -> None:
        """Removes a contact."""
        return self._run(_ops.remove_contact(user))

    def blocked_users(self) -> list[UserRef]:
        """The users the caller blocks."""
        return self._run(_ops.blocked_users())

    def block(self, user: int) -> None:
        """Blocks a user: no direct messages or invitations between the two while it lasts."""
        return self._run(_ops.block(user))

    def unblock(self, user: int) -> None:
        """Lifts a block."""
        return self._run(_ops.unblock(user))

    def rooms(self) -> list[RoomSummary]:
        """The rooms the user is in, and the public rooms they may join."""
        return self._run(_ops.rooms())

    def create_room(self, name: str, kind: RoomKind = "public", topic: str = "") -> Room:
        """Creates a group room; the caller becomes its owner."""
        return self._run(_ops.create_room(name, kind, topic))

    def room(self, room: int) -> Room:
        """One room."""
        return self._run(_ops.room(room))

    def join_room(self, room: int) -> Room:
        """Joins a public room."""
        return self._run(_ops.join_room(room))

    def leave_room(self, room: int) -> None:
        """Leaves a group room."""
        return self._run(_ops.leave_room(room))

    def members(self, room: int) -> list[Member]:
        """The members of a room, owner first."""
        return self._run(_ops.members(room))

    def invite(self, room: int, user: int) -> None:
        """Adds someone to a group room (admins and the owner)."""
        return self._run(_ops.invite(room, user))

    def kick(self, room: int, user: int) -> None:
        """Removes a member from a group room (admins and the owner)."""
        return self._run(_ops.kick(room, user))

    def set_role(self, room: int, user: int, role: Role) -> None:
        """Gives a member a role (the owner only); making someone ``owner`` hands the room over."""
        return self._run(_ops.set_role(room, user, role))

    def open_direct(self, user: int) -> Room:
        """The direct room with ``user``, created on first use."""
        return self._run(_ops.open_direct(user))

    def mark_read(self, room: int, seq: int) -> int:
        """Marks a room read up to ``seq``; the watermark now."""
        return self._run(_ops.mark_read(room, seq))

    def set_typing(self, room: int, active: bool = True) -> None:
        """Says the user is typing in a room (it lapses by itself), or stopped."""
        return self._run(_ops.set_typing(room, active))

    def unread(self) -> UnreadSummary:
        """Unread counts of every conversation, and of notifications."""
        return self._run(_ops.unread())

    def history(self, room: int, *, before: int | None = None, after: int | None = None, limit: int | None = None) -> MessagePage:
        """A page of messages: before ``before`` newest first (the latest without either), or after ``after`` oldest first."""
        return self._run(_ops.history(room, before, after, limit))

    def changes(self, room: int, after: int = 0, limit: int | None = None) -> Changes:
        """A room's changes after ``after``, in order: the REST way to catch up."""
        return self._run(_ops.changes(room, after, limit))

    def send_message(self, room: int, body: str, *, reply_to: int | None = None, attachments: Sequence[int] = (), client_id: str = "") -> Message:
        """Posts a message over REST (a connection's ``send`` goes through the outbox instead). Retrying with the same ``client_id`` returns the first message instead of posting another."""
        return self._run(_ops.send_message(room, body, reply_to, attachments, client_id))

    def message(self, message: int) -> Message:
        """One message."""
        return self._run(_ops.message(message))

    def edit_message(self, message: int, body: str) -> Message:
        """Replaces the text of one's own message."""
        return self._run(_ops.edit_message(message, body))

    def delete_message(self, message: int) -> None:
        """Deletes a message (the author, or a room admin); it stays as a tombstone."""
        return self._run(_ops.delete_message(message))

    def react(self, message: int, emoji: str, add: bool | None = True) -> bool:
        """Puts (``add=True``), takes back (``False``) or toggles (``None``) a reaction; whether it is present now."""
        return self._run(_ops.react(message, emoji, add))

    def forward_message(self, message: int, to: int, client_id: str = "") -> Message:
        """Shares a message into another room the caller is in."""
        return self._run(_ops.forward_message(message, to, client_id))

    def read_by(self, message: int) -> list[UserRef]:
        """Who, apart from the author, has read a message."""
        return self._run(_ops.read_by(message))

    def notifications(self, *, before: int | None = None, unread_only: bool = False, limit: int | None = None) -> NotificationPage:
        """A page of notifications, newest first."""
        return self._run(_ops.notifications(before, unread_only, limit))

    def unread_notification_count(self) -> int:
        """How many notifications are unread."""
        return self._run(_ops.unread_notification_count())

    def mark_notification_read(self, notification: int) -> None:
        """Marks one notification read."""
        return self._run(_ops.mark_notification_read(notification))

    def mark_all_notifications_read(self) -> int:
        """Marks every notification read; how many were unread."""
        return self._run(_ops.mark_all_notifications_read())

    def feed(self, after: int = 0, limit: int | None = None) -> Feed:
        """The user's feed (notifications and membership changes) after ``after``."""
        return self._run(_ops.feed(after, limit))
