"""The blocking API, from threads, with callbacks: what scripts and bots use."""

from __future__ import annotations

import os
import queue
import signal
import threading

import pytest

import jeco

from .conftest import PASSWORD, WAIT, unique


def sync_user(server: jeco.Server, name: str) -> tuple[jeco.Client, int]:
    client = jeco.Client(server.url)
    username = unique(name)
    session = client.register(username, f"{username}@example.com", PASSWORD)
    return client, session.account.id


def test_a_bot_answers_mentions_from_its_callback(server: jeco.Server) -> None:
    bot, bot_id = sync_user(server, "bot")
    bot_name = bot.me().username
    user, _ = sync_user(server, "user")
    room = next(r.room.id for r in user.rooms() if r.room.name == "general")

    def answer(event: jeco.Event) -> None:
        if isinstance(event, jeco.MessageCreated) and bot_id in event.message.mentions:
            # A blocking call from the callback, which runs on the client's runtime.
            bot.send_message(event.room_id, f"hi {event.message.sender.username}")

    with bot, user, bot.connect() as bot_conn, user.connect() as user_conn:
        handle = bot_conn.on_event(answer)
        events = user_conn.events(timeout=WAIT)
        for event in events:
            if isinstance(event, jeco.StateChanged) and event.state == "connected":
                break
        user_conn.send(room, f"@{bot_name} hello")
        replies = (
            e.message.body
            for e in events
            if isinstance(e, jeco.MessageCreated) and e.message.sender.id == bot_id
        )
        assert next(replies) == f"hi {user.me().username}"
        handle.cancel()
        assert handle.cancelled


def test_sync_calls_from_several_threads(server: jeco.Server) -> None:
    client, _ = sync_user(server, "threads")
    room = next(r.room.id for r in client.rooms() if r.room.name == "general")
    results: queue.Queue[jeco.Message | BaseException] = queue.Queue()

    def post(i: int) -> None:
        try:
            results.put(client.send_message(room, f"from thread {i}"))
        except BaseException as e:  # handed to the test thread
            results.put(e)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    messages = [results.get(timeout=WAIT) for _ in threads]
    assert all(isinstance(m, jeco.Message) for m in messages), messages
    bodies = {m.body for m in messages if isinstance(m, jeco.Message)}
    assert bodies == {f"from thread {i}" for i in range(4)}


def test_blocking_connection_commands_and_events(server: jeco.Server) -> None:
    client, me = sync_user(server, "solo")
    room = next(r.room.id for r in client.rooms() if r.room.name == "general")
    received: queue.Queue[jeco.Event] = queue.Queue()
    with client.connect() as conn:
        handle = conn.on_event(received.put)
        stored = conn.send_and_wait(room, "hello")
        assert stored.sender.id == me
        assert conn.react(stored.id, "👍") is True
        conn.typing(room)
        assert conn.edit(stored.id, "hello!").body == "hello!"
        assert conn.mark_read(room, stored.seq) == stored.seq
        conn.delete(stored.id)
        seen: set[type[jeco.Event]] = set()
        while jeco.MessageDeleted not in seen:
            seen.add(type(received.get(timeout=WAIT)))
        assert {jeco.StateChanged, jeco.MessageCreated, jeco.ReactionAdded, jeco.MessageEdited} <= seen
        handle.cancel()
    assert conn.state.state in ("stopped", "connected")


def test_a_blocking_wait_releases_the_gil_and_ctrl_c_interrupts_it(server: jeco.Server) -> None:
    """While the main thread waits for an event that never comes, another thread makes calls
    (it could not if the wait held the GIL), then sends SIGINT: the wait raises
    KeyboardInterrupt instead of blocking on."""
    client, me = sync_user(server, "waiter")
    answers: queue.Queue[int] = queue.Queue()

    def other_thread() -> None:
        answers.put(client.me().id)
        os.kill(os.getpid(), signal.SIGINT)

    with client.connect() as conn:
        events = conn.events()
        helper = threading.Thread(target=other_thread)
        with pytest.raises(KeyboardInterrupt):
            helper.start()
            while True:
                events.next()
        helper.join(WAIT)
    assert answers.get(timeout=WAIT) == me
