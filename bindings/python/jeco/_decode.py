"""Turns the native module's JSON into the frozen dataclasses of ``models`` and ``events``.

Each class is read by its fields' type hints, so the classes are the only description of
the wire types on this side. Fields the server adds later are ignored.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import Any, TypeVar, Union

T = TypeVar("T")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def decode(cls: type[T], data: Any) -> T:
    """``data`` (parsed JSON) as an instance of the dataclass ``cls``."""
    hints = _hints(typing.cast(type, cls))
    values = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.name in data:
            values[field.name] = _value(hints[field.name], data[field.name])
    return cls(**values)


def _value(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _value(inner[0], value) if len(inner) == 1 else value
    if origin in (list, tuple):
        (item,) = typing.get_args(hint)[:1]
        return tuple(_value(item, v) for v in value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return decode(hint, value)
    return value
