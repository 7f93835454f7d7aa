"""Signing up, in, out; tokens refreshed and restored."""

from __future__ import annotations

import pytest

import jeco

from .conftest import PASSWORD, unique


async def test_register_login_refresh_logout(server: jeco.Server) -> None:
    async with jeco.AsyncClient(server.url) as client:
        name = unique("carol")
        session = await client.register(name, f"{name}@example.com", PASSWORD)
        assert session.account.username == name
        assert session.account.email == f"{name}@example.com"
        assert (await client.me()).id == session.account.id

        refreshed = await client.refresh()
        assert refreshed.refresh_token != session.tokens.refresh_token
        assert await client.tokens() == refreshed

        await client.logout()
        assert await client.tokens() is None
        with pytest.raises(jeco.NotSignedIn):
            await client.me()

        again = await client.login(name, PASSWORD)
        assert again.account.id == session.account.id


async def test_restored_tokens_continue_the_session(server: jeco.Server) -> None:
    first = jeco.AsyncClient(server.url)
    name = unique("dave")
    session = await first.register(name, f"{name}@example.com", PASSWORD)
    saved = await first.tokens()
    assert saved is not None

    second = jeco.AsyncClient(server.url)
    await second.restore(saved)
    assert (await second.me()).id == session.account.id
    assert "refresh_token" not in repr(saved), "tokens stay out of logs"


async def test_refused_credentials_raise_unauthenticated(server: jeco.Server) -> None:
    client = jeco.AsyncClient(server.url)
    with pytest.raises(jeco.Unauthenticated) as refused:
        await client.login("nobody", PASSWORD)
    assert refused.value.code == "invalid_credentials"
    assert refused.value.status == 401


async def test_change_password_keeps_this_login(server: jeco.Server) -> None:
    async with jeco.AsyncClient(server.url) as client:
        name = unique("erin")
        await client.register(name, f"{name}@example.com", PASSWORD)
        new = "another long passphrase here"
        await client.change_password(PASSWORD, new)
        assert (await client.me()).username == name
        await client.logout()
        await client.login(name, new)
        await client.request_password_reset(f"{name}@example.com")
