"""Live events through the binding: messages, typing, presence, reactions, state changes."""

from __future__ import annotations

import pytest

import jeco

from .conftest import connected, general, next_of


@pytest.mark.parametrize("transport", ["websocket", "sse"])
async def test_messages_typing_presence_and_reactions(
    alice: jeco.AsyncClient, bob: jeco.AsyncClient, transport: jeco.Transport
) -> None:
    room = await general(alice)
    alice_id = (await alice.me()).id
    async with bob.connect(transport=transport) as bob_conn:
        bob_events = await connected(bob_conn)
        async with alice.connect(transport=transport) as alice_conn:
            alice_events = await connected(alice_conn)
            assert alice_conn.is_connected and alice_conn.state.state == "connected"

            online = await next_of(bob_events, jeco.Presence, lambda p: p.user_id == alice_id)
            assert online.online

            await alice_conn.typing(room)
            typing = await next_of(bob_events, jeco.Typing, lambda t: t.user_id == alice_id)
            assert typing.active and typing.room_id == room

            client_id = await alice_conn.send(room, "hello bob")
            sent = await next_of(alice_events, jeco.Sent)
            assert sent.client_id == client_id
            created = await next_of(bob_events, jeco.MessageCreated)
            assert created.message.id == sent.message.id
            assert created.message.body == "hello bob"
            assert created.seq == sent.message.seq

            assert await bob_conn.react(created.message.id, "🎉") is True
            reaction = await next_of(alice_events, jeco.ReactionAdded)
            assert reaction.emoji == "🎉" and reaction.message_id == created.message.id

            edited = await alice_conn.edit(created.message.id, "hello, bob")
            assert (await next_of(bob_events, jeco.MessageEdited)).message == edited
            assert await bob_conn.mark_read(room, edited.seq) == edited.seq
            stored = await alice_conn.send_and_wait(room, "and again")
            assert (await next_of(bob_events, jeco.MessageCreated)).message.id == stored.id
            await alice_conn.delete(stored.id)
            assert (await next_of(bob_events, jeco.MessageDeleted)).message_id == stored.id
            assert {p.room_id for p in alice_conn.positions()} >= {room}
            assert alice_conn.pending_sends() == []

        offline = await next_of(bob_events, jeco.Presence, lambda p: p.user_id == alice_id)
        assert not offline.online
        stopped = await next_of(alice_events, jeco.StateChanged)
        assert stopped.state == "stopped"
        assert await alice_events.next(timeout=5) is None


async def test_events_before_the_first_subscription_are_kept(alice: jeco.AsyncClient) -> None:
    conn = alice.connect()
    try:
        states = []
        async for event in conn.events(timeout=15):
            assert isinstance(event, jeco.StateChanged)
            states.append(event.state)
            if event.state == "connected":
                break
        assert states == ["connecting", "connected"]
    finally:
        conn.close()
