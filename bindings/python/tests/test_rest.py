"""Every REST group of the client, through the binding, with typed results."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

import jeco

from .conftest import general, unique


def png(width: int = 4, height: int = 4) -> bytes:
    """A valid PNG image, grey."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def test_rooms_and_members(alice: jeco.AsyncClient, bob: jeco.AsyncClient) -> None:
    bob_id = (await bob.me()).id
    room = await alice.create_room(unique("den"), "private", "the den")
    assert isinstance(room, jeco.Room)
    assert (room.kind, room.topic) == ("private", "the den")
    await alice.invite(room.id, bob_id)
    members = await alice.members(room.id)
    assert [m.role for m in members] == ["owner", "member"]
    await alice.set_role(room.id, bob_id, "admin")
    assert {m.user.id: m.role for m in await bob.members(room.id)}[bob_id] == "admin"
    await alice.kick(room.id, bob_id)
    with pytest.raises(jeco.NotFound):
        await bob.room(room.id)

    public = await alice.create_room(unique("hall"), "public", "")
    assert (await bob.join_room(public.id)).member_count == 2
    summaries = {s.room.id: s for s in await bob.rooms()}
    assert summaries[public.id].role == "member"
    await bob.leave_room(public.id)
    assert (await alice.room(public.id)).member_count == 1

    direct = await alice.open_direct(bob_id)
    assert direct.kind == "direct" and direct.name is None
    assert (await bob.open_direct((await alice.me()).id)).id == direct.id


async def test_messages(alice: jeco.AsyncClient, bob: jeco.AsyncClient) -> None:
    room = await general(alice)
    first = await alice.send_message(room, "hello", client_id="greeting-1")
    again = await alice.send_message(room, "hello", client_id="greeting-1")
    assert again.id == first.id, "the same client_id posts once"
    reply = await bob.send_message(room, "hi", reply_to=first.id)
    assert reply.reply_to == first.id

    page = await alice.history(room, limit=10)
    assert [m.id for m in page.items][:2] == [reply.id, first.id]
    after = await alice.history(room, after=first.seq)
    assert [m.id for m in after.items] == [reply.id]

    edited = await alice.edit_message(first.id, "hello, world")
    assert edited.body == "hello, world" and edited.edited_at is not None
    assert await bob.react(first.id, "👍") is True
    assert (await alice.message(first.id)).reactions[0].users == ((await bob.me()).id,)
    assert await bob.react(first.id, "👍", add=False) is False

    changes = await alice.changes(room, after=first.seq)
    kinds = [type(e) for e in changes.events]
    assert kinds[:1] == [jeco.MessageCreated]
    assert jeco.MessageEdited in kinds and jeco.ReactionAdded in kinds
    assert changes.last_seq > first.seq

    other = await alice.create_room(unique("annex"), "public", "")
    forwarded = await alice.forward_message(reply.id, other.id)
    assert forwarded.forwarded_from == reply.id and forwarded.room_id == other.id

    await bob.mark_read(room, edited.seq)
    assert [u.id for u in await alice.read_by(first.id)] == [(await bob.me()).id]

    await alice.delete_message(first.id)
    assert (await alice.message(first.id)).deleted


async def test_notifications_feed_and_unread(alice: jeco.AsyncClient, bob: jeco.AsyncClient) -> None:
    bob_name = (await bob.me()).username
    room = await general(alice)
    await alice.send_message(room, f"@{bob_name} look")
    unread = await bob.unread()
    assert unread.notifications == 1
    assert {r.room_id: r.unread for r in unread.rooms}[room] >= 1
    assert await bob.unread_notification_count() == 1
    page = await bob.notifications(unread_only=True)
    assert [n.kind for n in page.items] == ["mention"]
    await bob.mark_notification_read(page.items[0].id)
    assert await bob.unread_notification_count() == 0
    assert await bob.mark_all_notifications_read() == 0
    feed = await bob.feed()
    assert any(isinstance(e, jeco.NotificationReceived) for e in feed.events)
    assert feed.feed_seq >= 1


async def test_users_contacts_blocks_presence(alice: jeco.AsyncClient, bob: jeco.AsyncClient) -> None:
    me = await bob.me()
    found = await alice.search_users(me.username[:4])
    assert me.id in [u.id for u in found]
    assert (await alice.profile(me.id)).username == me.username
    await alice.add_contact(me.id)
    assert [c.user.id for c in await alice.contacts()] == [me.id]
    await alice.remove_contact(me.id)
    assert await alice.contacts() == []
    await alice.block(me.id)
    assert [u.id for u in await alice.blocked_users()] == [me.id]
    with pytest.raises(jeco.Forbidden):
        await bob.open_direct((await alice.me()).id)
    await alice.unblock(me.id)
    (info,) = await alice.presence([me.id])
    assert info.user_id == me.id and info.online is False
    account = await alice.update_profile(display_name="Alice", bio="hi")
    assert (account.display_name, account.bio) == ("Alice", "hi")
    await alice.set_typing(await general(alice), True)
    await alice.health()
    await alice.ready()


async def test_files(alice: jeco.AsyncClient, tmp_path: Path) -> None:
    room = await general(alice)
    text = await alice.upload_attachment(room, b"some notes", file_name="notes.txt")
    assert (text.filename, text.size) == ("notes.txt", 10)
    image_path = tmp_path / "dot.png"
    image_path.write_bytes(png())
    told: list[tuple[int, int]] = []
    image = await alice.upload_attachment(room, path=image_path, progress=lambda *p: told.append(p))
    size = len(png())
    assert told[0] == (0, size) and told[-1] == (size, size)
    assert image.filename == "dot.png" and image.content_type == "image/png"
    message = await alice.send_message(room, "files", attachments=[text.id, image.id])
    assert [a.id for a in message.attachments] == [text.id, image.id]

    download = await alice.download(text.id)
    assert download.data == b"some notes"
    thumb = await alice.thumbnail(image.id)
    assert thumb.content_type == "image/png" and thumb.data.startswith(b"\x89PNG")
    with pytest.raises(jeco.NotFound):
        await alice.thumbnail(text.id)

    avatar = await alice.upload_avatar(png(), file_name="me.png")
    assert (await alice.update_profile(avatar=avatar.id)).avatar == avatar.id
    assert (await alice.update_profile(clear_avatar=True)).avatar is None
