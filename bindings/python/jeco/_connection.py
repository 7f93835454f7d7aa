"""The real-time connection, for asyncio (:class:`AsyncConnection`) and for plain Python
(:class:`Connection`). Reconnecting, resuming, dropping repeats and the outbox are the Rust
client's; these classes only convert."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any

from . import _jeco
from ._decode import decode
from .events import Event, StateChanged, event_from_json
from .models import Message, PendingSend, RoomPosition


def _positions(text: str) -> list[RoomPosition]:
    return [decode(RoomPosition, p) for p in json.loads(text)]


def _pending(text: str) -> list[PendingSend]:
    return [
        PendingSend(
            room_id=p["room_id"],
            body=p["message"].get("body", ""),
            client_id=p["message"]["client_id"],
            reply_to=p["message"].get("reply_to"),
            attachments=tuple(p["message"].get("attachments", ())),
        )
        for p in json.loads(text)
    ]


def saved_state(rooms: Iterable[RoomPosition], outbox: Iterable[PendingSend]) -> tuple[str, str]:
    """Saved positions and sends as the native ``connect`` takes them."""
    rooms_json = json.dumps([{"room_id": r.room_id, "seq": r.seq} for r in rooms])
    outbox_json = json.dumps(
        [
            {
                "room_id": p.room_id,
                "message": {
                    "client_id": p.client_id,
                    "body": p.body,
                    "reply_to": p.reply_to,
                    "attachments": list(p.attachments),
                },
            }
            for p in outbox
        ]
    )
    return rooms_json, outbox_json


class ListenerHandle:
    """Keeps an ``on_event`` callback attached; :meth:`cancel` detaches it."""

    def __init__(self, native: _jeco.NativeListener) -> None:
        self._native = native

    def cancel(self) -> None:
        """Stops the calls: none starts afterwards (one already running finishes)."""
        self._native.cancel()

    @property
    def cancelled(self) -> bool:
        """Whether the calls were stopped."""
        return self._native.cancelled

    def __repr__(self) -> str:
        return f"ListenerHandle(cancelled={self.cancelled})"


class _ConnectionBase:
    def __init__(self, native: _jeco.NativeConnection) -> None:
        self._native = native

    @property
    def state(self) -> StateChanged:
        """The connection's state, as of the last event delivered."""
        event = event_from_json(self._native.state())
        assert isinstance(event, StateChanged)
        return event

    @property
    def is_connected(self) -> bool:
        """Whether a connection is up right now."""
        return self._native.is_connected()

    def positions(self) -> list[RoomPosition]:
        """How far each room was read: pass them to ``connect(rooms=...)`` after a restart."""
        return _positions(self._native.positions())

    def feed_seq(self) -> int | None:
        """How far the feed was read: pass it to ``connect(feed_seq=...)`` after a restart."""
        return self._native.feed_seq()

    def pending_sends(self) -> list[PendingSend]:
        """Sends not acknowledged yet: pass them to ``connect(outbox=...)`` after a restart."""
        return _pending(self._native.pending_sends())

    def on_event(self, callback: Callable[[Event], object]) -> ListenerHandle:
        """Calls ``callback`` with every event, one call at a time and in order, on a thread of
        the client's runtime, until the handle is cancelled. The first call carries the
        current state. A call that takes long holds the connection up (nothing is dropped):
        hand heavy work elsewhere. An exception in ``callback`` is reported like one in a
        thread, and the calls go on."""

        def deliver(text: str) -> None:
            callback(event_from_json(text))

        return ListenerHandle(self._native.add_listener(deliver))

    def close(self) -> None:
        """Stops the connection for good; subscriptions end after a ``stopped`` state."""
        self._native.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(state={self.state.state!r})"


class AsyncEvents:
    """One subscription to a connection's events, read with ``async for``. It ends after the
    ``stopped`` state. Created by :meth:`AsyncConnection.events`."""

    def __init__(self, native: _jeco.NativeEvents, timeout: float | None) -> None:
        self._native = native
        self._timeout = timeout

    def __aiter__(self) -> AsyncEvents:
        return self

    async def __anext__(self) -> Event:
        event = await self.next(self._timeout)
        if event is None:
            raise StopAsyncIteration
        return event

    async def next(self, timeout: float | None = None) -> Event | None:
        """The next event; ``None`` once the connection stopped and every event was read.
        ``TimeoutError`` when ``timeout`` seconds pass first. Cancelling the wait loses no
        event."""
        text = await self._native.next(timeout, False)
        return None if text is None else event_from_json(text)


class Events:
    """One subscription to a connection's events, read with ``for``; each wait blocks with
    the GIL released. It ends after the ``stopped`` state. Created by
    :meth:`Connection.events`."""

    def __init__(self, native: _jeco.NativeEvents, timeout: float | None) -> None:
        self._native = native
        self._timeout = timeout

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        event = self.next(self._timeout)
        if event is None:
            raise StopIteration
        return event

    def next(self, timeout: float | None = None) -> Event | None:
        """The next event; ``None`` once the connection stopped and every event was read.
        ``TimeoutError`` when ``timeout`` seconds pass first."""
        text = self._native.next(timeout, True)
        return None if text is None else event_from_json(text)


class AsyncConnection(_ConnectionBase):
    """A real-time connection for asyncio, opened by :meth:`AsyncClient.connect`. It
    reconnects and resumes by itself; ``async with`` closes it."""

    async def send(
        self,
        room: int,
        body: str,
        *,
        reply_to: int | None = None,
        attachments: Sequence[int] = (),
        client_id: str | None = None,
    ) -> str:
        """Queues a message for ``room`` through the outbox and returns its ``client_id``.

        Works offline. The message is sent, and sent again after every reconnection, until
        the server stores it (a :class:`~jeco.Sent` event) or refuses it on its merits
        (:class:`~jeco.SendFailed`); it is never stored twice. Returns at once: nothing
        waits for the network.
        """
        return self._native.send(room, body, reply_to, list(attachments), client_id)

    def events(self, timeout: float | None = None) -> AsyncEvents:
        """A new subscription to every event from now on, starting with the current state
        (the first subscription also gets the events since connecting). ``timeout``: seconds
        each event may take before ``TimeoutError``."""
        return AsyncEvents(self._native.events(), timeout)

    def send_and_wait(
        self,
        room: int,
        body: str,
        *,
        reply_to: int | None = None,
        attachments: Sequence[int] = (),
        client_id: str | None = None,
    ) -> Coroutine[Any, Any, Message]:
        """Queues a message through the outbox now, and returns an awaitable of it as stored
        (``await conn.send_and_wait(room, text)``). The message is queued before anything is
        awaited: cancelling the wait, even at once, never takes it back."""
        stored = self._native.send_and_wait(room, body, reply_to, list(attachments), client_id, False)

        async def wait() -> Message:
            return decode(Message, json.loads(await stored))

        return wait()

    async def typing(self, room: int, active: bool = True) -> None:
        """Says the user is typing in ``room`` (it lapses by itself), or stopped."""
        await self._native.typing(room, active, False)

    async def mark_read(self, room: int, seq: int) -> int:
        """Marks ``room`` read up to ``seq``; the watermark now."""
        result: int = await self._native.mark_read(room, seq, False)
        return result

    async def react(self, message: int, emoji: str, add: bool = True) -> bool:
        """Puts (or with ``add=False`` takes back) a reaction; whether it is present now."""
        result: bool = await self._native.react(message, emoji, add, False)
        return result

    async def edit(self, message: int, body: str) -> Message:
        """Replaces the text of one's own message."""
        text = await self._native.edit(message, body, False)
        return decode(Message, json.loads(text))

    async def delete(self, message: int) -> None:
        """Deletes a message (one's own, or any as a room admin)."""
        await self._native.delete(message, False)

    async def __aenter__(self) -> AsyncConnection:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Connection(_ConnectionBase):
    """A real-time connection for plain Python, opened by :meth:`Client.connect`. It
    reconnects and resumes by itself; ``with`` closes it."""

    def send(
        self,
        room: int,
        body: str,
        *,
        reply_to: int | None = None,
        attachments: Sequence[int] = (),
        client_id: str | None = None,
    ) -> str:
        """Queues a message for ``room`` through the outbox and returns its ``client_id``.

        Works offline. The message is sent, and sent again after every reconnection, until
        the server stores it (a :class:`~jeco.Sent` event) or refuses it on its merits
        (:class:`~jeco.SendFailed`); it is never stored twice.
        """
        return self._native.send(room, body, reply_to, list(attachments), client_id)

    def events(self, timeout: float | None = None) -> Events:
        """A new subscription to every event from now on, starting with the current state
        (the first subscription also gets the events since connecting). ``timeout``: seconds
        each event may take before ``TimeoutError``."""
        return Events(self._native.events(), timeout)

    def send_and_wait(
        self,
        room: int,
        body: str,
        *,
        reply_to: int | None = None,
        attachments: Sequence[int] = (),
        client_id: str | None = None,
    ) -> Message:
        """Queues a message through the outbox and waits until it is stored."""
        text = self._native.send_and_wait(room, body, reply_to, list(attachments), client_id, True)
        return decode(Message, json.loads(text))

    def typing(self, room: int, active: bool = True) -> None:
        """Says the user is typing in ``room`` (it lapses by itself), or stopped."""
        self._native.typing(room, active, True)

    def mark_read(self, room: int, seq: int) -> int:
        """Marks ``room`` read up to ``seq``; the watermark now."""
        result: int = self._native.mark_read(room, seq, True)
        return result

    def react(self, message: int, emoji: str, add: bool = True) -> bool:
        """Puts (or with ``add=False`` takes back) a reaction; whether it is present now."""
        result: bool = self._native.react(message, emoji, add, True)
        return result

    def edit(self, message: int, body: str) -> Message:
        """Replaces the text of one's own message."""
        return decode(Message, json.loads(self._native.edit(message, body, True)))

    def delete(self, message: int) -> None:
        """Deletes a message (one's own, or any as a room admin)."""
        self._native.delete(message, True)

    def __enter__(self) -> Connection:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def connect_args(
    transport: str,
    rooms: Iterable[RoomPosition],
    feed_seq: int | None,
    outbox: Iterable[PendingSend],
    backoff_base: float,
    backoff_max: float,
    queue_capacity: int,
) -> tuple[Any, ...]:
    """The native ``connect``'s arguments."""
    rooms_json, outbox_json = saved_state(rooms, outbox)
    return (transport, rooms_json, feed_seq, outbox_json, backoff_base, backoff_max, queue_capacity)
