"""Every failure is a JecoError of the class its protocol code belongs to."""

from __future__ import annotations

import socket

import pytest

import jeco

from .conftest import PASSWORD, general, next_of, unique


async def test_not_found_forbidden_invalid_conflict(
    alice: jeco.AsyncClient, bob: jeco.AsyncClient
) -> None:
    with pytest.raises(jeco.NotFound) as missing:
        await alice.room(424242)
    assert (missing.value.code, missing.value.status) == ("room_not_found", 404)

    room = await alice.create_room(unique("den"), "public", "")
    await bob.join_room(room.id)
    me = await alice.me()
    with pytest.raises(jeco.Forbidden) as forbidden:
        await bob.kick(room.id, me.id)
    assert forbidden.value.code == "not_allowed"

    with pytest.raises(jeco.Invalid) as invalid:
        await alice.send_message(room.id, "   ")
    assert invalid.value.code == "empty_message"
    assert not invalid.value.transient

    with pytest.raises(jeco.Conflict) as taken:
        await alice.create_room(room.name or "", "public", "")
    assert taken.value.code == "room_name_taken"
    assert isinstance(taken.value, jeco.JecoError)


async def test_rate_limited_says_when_to_retry(server: jeco.Server) -> None:
    client = jeco.AsyncClient(server.url)
    with pytest.raises(jeco.RateLimited) as limited:
        for _ in range(100):
            with pytest.raises(jeco.Unauthenticated):
                await client.login(unique("nobody"), PASSWORD)
    assert limited.value.code == "rate_limited"
    assert limited.value.status == 429
    assert limited.value.retry_after is not None and limited.value.retry_after > 0
    assert limited.value.transient


async def test_unreachable_server_is_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = jeco.AsyncClient(f"http://127.0.0.1:{port}")
    with pytest.raises(jeco.Unavailable) as down:
        await client.health()
    assert isinstance(down.value, jeco.TransportError)
    assert down.value.transient


def test_bad_url_and_bad_arguments() -> None:
    with pytest.raises(jeco.Invalid) as bad:
        jeco.Client("ftp://example.com")
    assert bad.value.code == "invalid_url"
    client = jeco.Client("http://127.0.0.1:1")
    with pytest.raises(ValueError):
        client.upload_attachment(1)
    with pytest.raises(jeco.NotSignedIn):
        client.me()


async def test_refused_send_through_the_outbox_is_send_failed(alice: jeco.AsyncClient) -> None:
    room = await general(alice)
    async with alice.connect() as conn:
        events = conn.events()
        client_id = await conn.send(room, "x" * 5000)
        failed = await next_of(events, jeco.SendFailed)
        assert failed.client_id == client_id
        assert isinstance(failed.error, jeco.Invalid)
        assert failed.error.code == "too_long"
