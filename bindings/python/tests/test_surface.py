"""The two clients have the same calls, and every call of the Python table reaches a call of
the native module (a misspelt name would only fail when used)."""

from __future__ import annotations

import inspect
import socket

import pytest

import jeco
from jeco import _jeco, _ops


def public(cls: type) -> set[str]:
    return {name for name in vars(cls) if not name.startswith("_")}


def test_async_and_blocking_clients_have_the_same_methods() -> None:
    assert public(jeco.AsyncClient) == public(jeco.Client)
    for name in public(jeco.AsyncClient) - {"url", "connect"}:
        assert inspect.iscoroutinefunction(getattr(jeco.AsyncClient, name)), name
        blocking, awaited = getattr(jeco.Client, name), getattr(jeco.AsyncClient, name)
        assert inspect.signature(blocking) == inspect.signature(awaited), name
    assert public(jeco.AsyncConnection) - {"events"} == public(jeco.Connection) - {"events"}


def test_every_call_is_known_to_the_native_module() -> None:
    """Each call of the table, with arguments of the right types, gets past the native
    module's name and argument checks: it fails only for want of a session or a server."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    native = _jeco.NativeClient(f"http://127.0.0.1:{port}")
    calls = _calls()
    assert len(calls) > 40
    for call in calls:
        try:
            native.call(call.op, call.args, True)
        except jeco.JecoError as e:
            assert isinstance(e, (jeco.NotSignedIn, jeco.TransportError)), (call.op, e)
    with pytest.raises(ValueError, match="no such call"):
        native.call("no_such_thing", "{}", True)


def _calls() -> list[_ops.Call[object]]:
    """One Call of each function of the table, with placeholder arguments."""
    calls = []
    for name, fn in vars(_ops).items():
        if name.startswith("_") or not inspect.isfunction(fn) or fn.__module__ != _ops.__name__:
            continue
        args = [_placeholder(p) for p in inspect.signature(fn).parameters.values()]
        calls.append(fn(*args))
    return calls


def _placeholder(param: inspect.Parameter) -> object:
    hint = str(param.annotation)
    if hint == "RoomKind":
        return "public"
    if hint == "Role":
        return "member"
    if "Tokens" in hint:
        return jeco.Tokens("a", 0, "r", 0)
    if "Sequence" in hint:
        return [1]
    if "bool" in hint:
        return False
    if "str" in hint and "int" not in hint:
        return "x"
    return 1
