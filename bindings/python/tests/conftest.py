"""Fixtures: a fresh embedded server per test (SQLite in a temporary directory), users on it,
and helpers that wait for events with a timeout instead of sleeping."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

import jeco

PASSWORD = "correct horse battery staple"
WAIT = 15.0
"""Seconds any one wait in the tests may take before the test fails."""

E = TypeVar("E")

_names = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[jeco.Server]:
    with jeco.Server(data_dir=tmp_path / "data") as server:
        yield server


async def signed_in(url: str, name: str) -> jeco.AsyncClient:
    client = jeco.AsyncClient(url)
    username = unique(name)
    await client.register(username, f"{username}@example.com", PASSWORD)
    return client


@pytest.fixture
async def alice(server: jeco.Server) -> AsyncIterator[jeco.AsyncClient]:
    async with await signed_in(server.url, "alice") as client:
        yield client


@pytest.fixture
async def bob(server: jeco.Server) -> AsyncIterator[jeco.AsyncClient]:
    async with await signed_in(server.url, "bob") as client:
        yield client


async def next_of(
    events: jeco.AsyncEvents, kind: type[E], where: Callable[[E], bool] = lambda _: True
) -> E:
    """The next event of class ``kind`` that satisfies ``where``; others are skipped. Fails
    the test when none comes within ``WAIT`` seconds."""
    while True:
        event = await events.next(timeout=WAIT)
        assert event is not None, f"the connection stopped before a {kind.__name__}"
        if isinstance(event, kind) and where(event):
            return event


async def connected(conn: jeco.AsyncConnection) -> jeco.AsyncEvents:
    """A subscription to ``conn``'s events, once it is connected."""
    events = conn.events()
    await next_of(events, jeco.StateChanged, lambda s: s.state == "connected")
    return events


async def general(client: jeco.AsyncClient) -> int:
    """The id of the room every new account is in."""
    rooms = await client.rooms()
    return next(r.room.id for r in rooms if r.room.name == "general")
