"""Cancelling a Python task cancels the Rust future it awaits."""

from __future__ import annotations

import asyncio
import socket

import pytest

import jeco

from .conftest import WAIT, connected, general, next_of


async def test_cancelling_a_call_drops_its_request() -> None:
    """A server that accepts and never answers: the cancelled call closes its connection at
    once, rather than after the client's 30-second request timeout."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        client = jeco.AsyncClient(f"http://127.0.0.1:{port}")
        loop = asyncio.get_running_loop()

        call = asyncio.ensure_future(client.health())
        accepted, _ = await asyncio.wait_for(loop.sock_accept(listener), WAIT)
        with accepted:
            request = await asyncio.wait_for(loop.sock_recv(accepted, 4096), WAIT)
            assert request.startswith(b"GET /healthz")
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            closed = await asyncio.wait_for(loop.sock_recv(accepted, 4096), WAIT)
            assert closed == b"", "the Rust future was dropped and its connection closed"


async def test_cancelled_wait_for_an_event_loses_nothing(alice: jeco.AsyncClient) -> None:
    room = await general(alice)
    async with alice.connect() as conn:
        events = await connected(conn)
        waiting = asyncio.ensure_future(events.next())
        await asyncio.sleep(0)  # the wait starts
        await conn.send(room, "around the cancelled wait")
        waiting.cancel()
        try:
            got = [await waiting]
        except asyncio.CancelledError:
            got = []
        while not any(isinstance(e, jeco.MessageCreated) for e in got):
            got.append(await events.next(timeout=WAIT))
        bodies = [e.message.body for e in got if isinstance(e, jeco.MessageCreated)]
        assert bodies == ["around the cancelled wait"]


async def test_a_cancelled_send_and_wait_is_still_sent(alice: jeco.AsyncClient) -> None:
    """The message is queued when send_and_wait is called: cancelling the wait at once, before
    the task ever ran, does not take it back."""
    room = await general(alice)
    async with alice.connect() as conn:
        events = await connected(conn)
        waiting = asyncio.ensure_future(conn.send_and_wait(room, "sent anyway"))
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        created = await next_of(events, jeco.MessageCreated)
        assert created.message.body == "sent anyway"
