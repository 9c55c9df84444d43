"""Cached values as JSON for Redis, decoded only into types named in advance.

What the services cache are frozen dataclasses and pydantic models holding Decimals,
datetimes, tuples and enums. They are written as tagged JSON (orjson) and read back into
exactly those types, through each class's own constructor (pydantic validates). Decoding
never imports anything and never calls anything but the constructors of the classes the
codec was built with (and the classes their fields name): a value written by another
program into Redis can at worst fail to decode, which reads as a miss. pickle would run
whatever the bytes say.

A value holding a class the codec does not know raises `Unshareable` when encoded: that
key stays in the replica's own cache (it still works, only without sharing).

Tags: `d` Decimal, `dt` datetime, `da` date, `td` timedelta, `t` tuple, `m` dict (pairs, so
keys keep their type), `s`/`fs` set/frozenset, `x` a non-finite float, `e` enum, `o` object.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

import orjson
from pydantic import BaseModel


class Unshareable(TypeError):
    """The value holds a type the codec was not built with."""


class Undecodable(ValueError):
    """Bytes that are not a value this codec wrote."""


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _is_object_type(cls: object) -> bool:
    return isinstance(cls, type) and (
        dataclasses.is_dataclass(cls) or issubclass(cls, BaseModel | Enum)
    )


def _field_types(cls: type) -> list[Any]:
    if issubclass(cls, BaseModel):
        return [f.annotation for f in cls.model_fields.values()]
    if dataclasses.is_dataclass(cls):
        try:
            hints = typing.get_type_hints(cls)
        except (NameError, TypeError):  # a name only imported for type checking
            return []
        return [hints[f.name] for f in dataclasses.fields(cls) if f.name in hints]
    return []


def _classes_in(annotation: Any) -> Iterable[type]:
    if _is_object_type(annotation):
        yield annotation
    origin = typing.get_origin(annotation)
    if _is_object_type(origin):
        yield origin
    for arg in typing.get_args(annotation):
        yield from _classes_in(arg)


class ValueCodec:
    def __init__(self, roots: Iterable[type]) -> None:
        """Know `roots` and every dataclass, model and enum their fields name, transitively
        (a generic field such as `Answer.value: T` names nothing: list its types as roots)."""
        self._types: dict[str, type] = {}
        pending = list(roots)
        while pending:
            cls = pending.pop()
            if not _is_object_type(cls):
                raise TypeError(f"{cls!r} is not a dataclass, pydantic model or enum")
            if _name(cls) in self._types:
                continue
            self._types[_name(cls)] = cls
            for annotation in _field_types(cls):
                pending.extend(_classes_in(annotation))

    @property
    def types(self) -> frozenset[type]:
        return frozenset(self._types.values())

    def dumps(self, value: Any) -> bytes:
        return orjson.dumps(self.encode(value))

    def loads(self, data: bytes) -> Any:
        try:
            return self.decode(orjson.loads(data))
        except Undecodable:
            raise
        except (orjson.JSONDecodeError, TypeError, ValueError, KeyError, IndexError) as exc:
            raise Undecodable(f"{type(exc).__name__}: {exc}") from exc

    # --- encoding ----------------------------------------------------------------------------

    def encode(self, v: Any) -> Any:
        if v is None or (isinstance(v, bool | int | str) and not isinstance(v, Enum)):
            return v
        if isinstance(v, float):
            return v if math.isfinite(v) else {"x": repr(v)}
        if isinstance(v, Decimal):
            return {"d": str(v)}
        if isinstance(v, datetime):
            return {"dt": v.isoformat()}
        if isinstance(v, date):
            return {"da": v.isoformat()}
        if isinstance(v, timedelta):
            return {"td": [v.days, v.seconds, v.microseconds]}
        if isinstance(v, list):
            return [self.encode(x) for x in v]
        if isinstance(v, tuple) and type(v) is tuple:
            return {"t": [self.encode(x) for x in v]}
        if isinstance(v, dict):
            return {"m": [[self.encode(k), self.encode(x)] for k, x in v.items()]}
        if isinstance(v, frozenset):
            return {"fs": [self.encode(x) for x in v]}
        if isinstance(v, set):
            return {"s": [self.encode(x) for x in v]}
        return self._encode_object(v)

    def _encode_object(self, v: Any) -> Any:
        cls = type(v)
        if self._types.get(_name(cls)) is not cls:
            raise Unshareable(f"{_name(cls)} is not a shared cache type")
        if isinstance(v, Enum):
            return {"e": _name(cls), "v": self.encode(v.value)}
        if isinstance(v, BaseModel):
            names: Iterable[str] = type(v).model_fields
        else:
            names = [f.name for f in dataclasses.fields(v) if f.init]
        return {"o": _name(cls), "f": {n: self.encode(getattr(v, n)) for n in names}}

    # --- decoding ----------------------------------------------------------------------------

    def decode(self, v: Any) -> Any:
        if v is None or isinstance(v, bool | int | float | str):
            return v
        if isinstance(v, list):
            return [self.decode(x) for x in v]
        if not isinstance(v, dict) or not v:
            raise Undecodable(f"not a tagged value: {type(v).__name__}")
        tag = next(iter(v))
        body = v[tag]
        match tag:
            case "d":
                return Decimal(body)
            case "dt":
                return datetime.fromisoformat(body)
            case "da":
                return date.fromisoformat(body)
            case "td":
                return timedelta(days=body[0], seconds=body[1], microseconds=body[2])
            case "x":
                return float(body)
            case "t":
                return tuple(self.decode(x) for x in body)
            case "m":
                return {self.decode(k): self.decode(x) for k, x in body}
            case "s":
                return {self.decode(x) for x in body}
            case "fs":
                return frozenset(self.decode(x) for x in body)
            case "e":
                return self._type(body)(self.decode(v["v"]))
            case "o":
                cls = self._type(body)
                return cls(**{n: self.decode(x) for n, x in v["f"].items()})
        raise Undecodable(f"unknown tag {tag!r}")

    def _type(self, name: object) -> type:
        cls = self._types.get(name) if isinstance(name, str) else None
        if cls is None:
            raise Undecodable(f"not a shared cache type: {name!r}")
        return cls
