"""Payload shapes: has a provider changed its format? (`cryptoagg providers schema`)

A shape maps each key path of a payload to the JSON types seen there: `$` is the root, `.key`
an object key, `[]` any list element (lists collapse to the union of their elements), `.*` any
value of an object whose keys are data (asset ids, pair names: the endpoint's `maps`). RSS and
Atom bodies are compared as feedparser reads them (`{"version", "entries": [...]}`), which is
what the news adapter consumes.

The expected shapes ship in `shapes.json`, generated from the recorded payloads each adapter
names (`HttpProvider.shapes`, in `tests/fixtures/providers/`) by
`python -m tests.providers.shapes_gen` (a test fails when the two disagree). Each endpoint
also lists the fields its parse function needs: `required` (the parse fails or yields nothing
without them) and `used` (the parsed values change without them), found by deleting each
field from the recording and parsing again.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import feedparser
import orjson

from cryptoagg.core.assets import Asset, AssetRegistry

ROOT = "$"
SHAPES_FILE = "shapes.json"
#: the declared charset makes feedparser trust the decoded text over the XML prolog
_FEED_HEADERS = {"content-type": "application/xml; charset=utf-8"}

Shape = dict[str, set[str]]


@dataclass(frozen=True, slots=True)
class Sample:
    """What a recording is parsed with when its shape is generated: the seeded assets and a
    fixed time, so the parse is the same on every run."""

    registry: AssetRegistry
    now: datetime

    def asset(self, asset_id: str) -> Asset:
        return self.registry.get(asset_id)


@dataclass(frozen=True, slots=True)
class Recording:
    """One endpoint's recorded payload, declared by its adapter (`HttpProvider.shapes`):
    `path` below the provider's base URL (as `providers schema` sees the live answer),
    `fixture` under tests/fixtures/providers/, the keys that hold data rather than field names
    (`maps`), and how the adapter parses it (`parse(payload, sample)`; a feed's payload is
    its text), which tells the fields it needs from those it ignores."""

    path: str
    fixture: str
    parse: Callable[[Any, Sample], object]
    maps: tuple[str, ...] = ()
    kind: str = "json"


def json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def shape_of(payload: object, maps: Collection[str] = ()) -> Shape:
    """Every key path of `payload` with the types found there."""
    shape: Shape = {}

    def walk(value: object, path: str) -> None:
        shape.setdefault(path, set()).add(json_type(value))
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, f"{path}.*" if path in maps else f"{path}.{key}")
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item, f"{path}[]")

    walk(payload, ROOT)
    return shape


def feed_view(text: str) -> dict[str, Any]:
    """An RSS/Atom body as the news adapter reads it (only ever from a stream: feedparser
    would fetch a string that looks like a URL)."""
    feed = feedparser.parse(io.BytesIO(text.encode("utf-8")), response_headers=_FEED_HEADERS)
    return {"version": feed.get("version") or "", "entries": list(feed.entries)}


def decode(body: bytes, kind: str) -> object:
    """The payload of a response body; ValueError when it is not of its endpoint's kind."""
    if kind == "feed":
        view = feed_view(body.decode("utf-8", errors="replace"))
        if not view["version"]:
            raise ValueError("body is not an RSS or Atom feed")
        return view
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ValueError("body is not JSON") from None


@dataclass(frozen=True, slots=True)
class Expected:
    """One endpoint's recorded shape (an entry of `shapes.json`)."""

    fixture: str
    kind: str
    maps: tuple[str, ...]
    fields: dict[str, tuple[str, ...]]
    required: frozenset[str] = frozenset()
    used: frozenset[str] = frozenset()

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Expected:
        return cls(
            fixture=raw["fixture"],
            kind=raw["kind"],
            maps=tuple(raw["maps"]),
            fields={path: tuple(types) for path, types in raw["fields"].items()},
            required=frozenset(raw["required"]),
            used=frozenset(raw["used"]),
        )


@cache
def expected_shapes() -> dict[str, dict[str, Expected]]:
    """provider -> endpoint path -> expected shape, as shipped in `shapes.json`."""
    text = resources.files(__package__).joinpath(SHAPES_FILE).read_text(encoding="utf-8")
    raw = json.loads(text)
    return {
        provider: {path: Expected.from_json(entry) for path, entry in endpoints.items()}
        for provider, endpoints in raw["providers"].items()
    }


@dataclass(frozen=True, slots=True)
class TypeChange:
    path: str
    expected: tuple[str, ...]
    found: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.path}: {'|'.join(self.expected)} -> {'|'.join(self.found)}"


@dataclass(frozen=True, slots=True)
class ShapeDiff:
    missing: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    changed: list[TypeChange] = field(default_factory=list)
    #: the missing fields the parse function cannot do without / reads
    missing_required: list[str] = field(default_factory=list)
    missing_used: list[str] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not (self.missing or self.new or self.changed)


def _parent(path: str) -> str:
    if path.endswith("[]"):
        return path[:-2]
    return path.rsplit(".", 1)[0]


def _is_key(path: str) -> bool:
    return not path.endswith(("[]", ".*"))


def compare(expected: Expected, payload: object) -> ShapeDiff:
    """What changed from the recorded shape. Only the outermost missing or new path is
    listed (a missing object hides its fields); elements of an empty list or map are not
    missing (nothing could be seen), and `null` fits any type (optional values)."""
    live = shape_of(payload, expected.maps)
    before = {path: set(types) for path, types in expected.fields.items()}
    missing = sorted(
        path
        for path in before
        if path not in live and _is_key(path) and "object" in live.get(_parent(path), ())
    )
    new = sorted(
        path
        for path in live
        if path not in before and _is_key(path) and "object" in before.get(_parent(path), ())
    )
    changed = []
    for path in sorted(before.keys() & live.keys()):
        was, now = before[path] - {"null"}, live[path] - {"null"}
        if was and now and not now <= was:
            changed.append(TypeChange(path, tuple(sorted(was)), tuple(sorted(now))))
    return ShapeDiff(
        missing=missing,
        new=new,
        changed=changed,
        missing_required=[p for p in missing if p in expected.required],
        missing_used=[p for p in missing if p in expected.used],
    )
