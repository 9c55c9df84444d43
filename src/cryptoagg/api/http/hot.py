"""The hot path: responses of cached data, encoded once and served as bytes with an ETag.

A body is built (and orjson-encoded) once per cached value and request parameters; every
further request for the same value gets the same bytes. The version is when the service cache
stored the value (and whether it is served stale): when the cache refreshes it, the next
request builds a new body. The ETag is
a hash of the body, so an unchanged refresh keeps the ETag and clients keep their 304s.
`Cache-Control: max-age` is the value's remaining TTL.

Fields computed per request (an `age_s`) are therefore the age when the body was built; the
HTTP `Age` header is the data's age now (that `age_s` plus the time since).

`HotPath` serves those bytes without entering FastAPI at all: a GET whose exact path and query
were answered before, while that answer's value is still within its TTL, is the same bytes
again, so routing, dependency injection and validation would only cost time (they are ~85% of
a cached request). Anything else, including the first request and every request after the TTL,
goes through FastAPI, which refreshes the value and the entry.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from starlette.types import Scope, Send

from cryptoagg.api.render import dumps
from cryptoagg.services.context import Served

Clock = Callable[[], float]


@dataclass(slots=True)
class Encoded:
    version: object
    body: bytes
    etag: str
    built_at: float
    #: the age of the data when the body was built (the `Age` header counts on from it)
    age_s: float = 0.0
    #: further headers of this body (e.g. `X-Data-Stale`)
    extra: tuple[tuple[str, str], ...] = ()
    #: until when the value behind the body is within its TTL (monotonic clock)
    fresh_until: float = 0.0
    #: the raw 200 and 304 headers, built once per whole second of the clock (max-age and
    #: Age only change that often)
    raw_second: int = -1
    raw_200: list[tuple[bytes, bytes]] | None = None
    raw_304: list[tuple[bytes, bytes]] | None = None


class ResponseCache:
    """Encoded bodies by key (route and parameters), bounded, least recently used first out."""

    def __init__(self, max_entries: int = 2048, clock: Clock = time.monotonic) -> None:
        self._entries: OrderedDict[str, Encoded] = OrderedDict()
        self._max = max_entries
        self.clock = clock
        self.builds = 0
        self.reuses = 0
        #: requests the hot path answered from memory
        self.hot_hits = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(
        self,
        key: str,
        version: object,
        build: Callable[[], Any],
        age_s: float = 0.0,
        extra: Mapping[str, str] | None = None,
    ) -> Encoded:
        """The encoded body of `version` (compared with ==) under `key`; `age_s` is the age of
        its data now, `extra` further headers."""
        entry = self._entries.get(key)
        if entry is not None and entry.version == version:
            self._entries.move_to_end(key)
            self.reuses += 1
            return entry
        body = dumps(build())
        etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
        entry = Encoded(version, body, etag, self.clock(), age_s, tuple((extra or {}).items()))
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        self.builds += 1
        return entry

    def serve(
        self,
        request: Request,
        served: Served[Any],
        build: Callable[[], Any],
        extra: Mapping[str, str] | None = None,
    ) -> Response:
        """A service's answer, built (once per version) by `build` and encoded."""
        encoded = self.get(request_key(request), served.version, build, served.age_s, extra)
        return self.respond(request, encoded, served.max_age_s)

    def respond(self, request: Request, encoded: Encoded, max_age_s: float) -> Response:
        """200 with the bytes, or 304 when the client already has them. The entry may be
        served by `HotPath` for the next `max_age_s` seconds."""
        now = self.clock()
        encoded.fresh_until = now + max(0.0, max_age_s)
        headers = self.headers(encoded, now)
        if etag_matches(request.headers.get("if-none-match"), encoded.etag):
            return Response(status_code=304, headers=headers)
        return Response(encoded.body, 200, headers, media_type="application/json")

    @staticmethod
    def headers(encoded: Encoded, now: float) -> dict[str, str]:
        """The caching headers of `encoded` at `now`."""
        return {
            "ETag": encoded.etag,
            "Cache-Control": f"public, max-age={max(0, math.floor(encoded.fresh_until - now))}",
            "Age": str(max(0, math.floor(encoded.age_s + now - encoded.built_at))),
            **dict(encoded.extra),
        }

    def fresh(self, key: str) -> Encoded | None:
        """The entry under `key` while its value is within its TTL."""
        entry = self._entries.get(key)
        if entry is None or entry.fresh_until <= self.clock():
            return None
        self.hot_hits += 1
        return entry


def etag_matches(header: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: `*`, or a list of (possibly weak) entity tags."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


#: query parameters that never change an answer: CoinGecko clients' API keys
#: (`x_cg_demo_api_key`, `x_cg_pro_api_key`), accepted and ignored by `/api/v3`
IGNORED_PARAMS = (b"x_cg_",)


def request_key(request: Request) -> str:
    """Route path and the query string, parameters sorted (so `a=1&b=2` == `b=2&a=1`) and
    the ignored ones left out (one entry whatever key a client sends, and no key kept)."""
    return key_of(request.scope["path"], request.scope["query_string"])


def key_of(path: str, query_string: bytes) -> str:
    params = [p for p in query_string.split(b"&") if p and not p.startswith(IGNORED_PARAMS)]
    return f"{path}?{b'&'.join(sorted(params)).decode('latin-1')}"


#: run for a request served by the fast path: its scope and how long serving it took (ms)
Hook = Callable[[Scope, float], None]


class HotPath:
    """The fast path for fresh cached GET responses (see the module docstring). It is not
    a middleware of its own: `RequestLimits` asks it after the client's rate limit and before
    the body limit and deadline, which a bodiless answer from memory does not need.

    `hooks` run for each request served here, by path (e.g. recording `/api/market`
    requests in `user_queries`, which the route does for requests it serves itself)."""

    def __init__(self, state: Any, hooks: dict[str, Hook] | None = None) -> None:
        self.state = state
        self.hooks = hooks or {}

    async def try_serve(self, scope: Scope, send: Send) -> bool:
        """Answer from memory if possible; False: the app must handle the request."""
        responses: ResponseCache | None = getattr(self.state, "responses", None)
        if scope["method"] != "GET" or responses is None:
            return False
        started = time.perf_counter()
        entry = responses.fresh(key_of(scope["path"], scope["query_string"]))
        if entry is None:
            return False
        if_none_match = None
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                if_none_match = value.decode("latin-1")
        now = responses.clock()
        if entry.raw_second != int(now) or entry.raw_200 is None or entry.raw_304 is None:
            headers = responses.headers(entry, now)
            entry.raw_304 = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
            entry.raw_200 = [
                *entry.raw_304,
                (b"content-type", b"application/json"),
                (b"content-length", str(len(entry.body)).encode()),
            ]
            entry.raw_second = int(now)
        not_modified = etag_matches(if_none_match, entry.etag)
        status, raw = (304, entry.raw_304) if not_modified else (200, entry.raw_200)
        body = b"" if not_modified else entry.body
        hook = self.hooks.get(scope["path"])
        if hook is not None:
            hook(scope, (time.perf_counter() - started) * 1000)
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})
        return True


async def get_responses(request: Request) -> ResponseCache:
    responses: ResponseCache = request.app.state.responses
    return responses


ResponsesDep = Annotated[ResponseCache, Depends(get_responses)]
