"""Guards of the HTTP server protocol for uvicorn: a header-read timeout (HEADER_TIMEOUT_S),
so slow clients cannot hold connections, and caps on the request line and headers
(MAX_URL_BYTES, MAX_HEADER_BYTES, MAX_HEADERS), so a client cannot make the server buffer
megabytes of them.

**Timeout.** uvicorn arms its keep-alive timer only after a response, and any byte received
cancels it; nothing bounds how long a client may take to send a request line and headers (on
a new connection, or once it has sent the first byte of the next request). A slow-loris
client that sends a header byte every few seconds holds its connection, and its file
descriptor, forever. These protocol subclasses add one timer per connection, armed

- when the connection opens, and when the first byte of a further request arrives;
- when a response is complete but the client has not finished sending the request body
  (the handler did not read it): the rest must arrive in time too,

and cancelled when a request's headers are complete (from then on the handler, bounded by
REQUEST_TIMEOUT_S, has the request). When it fires the connection is closed; a client that
had sent part of a request first gets a 408 in the API's error shape (one that sent nothing,
or still owed a body after its response, gets nothing more). A request in progress on the
same connection is never cut: it is answered, then the connection closes.

**Size caps.** Neither parser bounds a request's head by default: httptools (llhttp) buffers a
header of any length, h11 allows 16 KiB in all. The caps are checked while the head is read,
before the app sees anything: a request target over MAX_URL_BYTES gets 414, more than
MAX_HEADERS headers or more than MAX_HEADER_BYTES of names and values get 431, in the API's
error shape, and the connection is closed. A head that is still incomplete after more bytes
than a head within the caps can take (`HeadLimits.wire_bytes`) is refused the same way, so
what the server holds for one connection's head stays below that plus one read (≤ 256 KiB).
Anything else a parser rejects gets a 400 in the error shape instead of uvicorn's plain text.

This module holds what each parser makes different; the timer, its expiry and the refusals
are one implementation for both (`api/http/headguard.py`), the caps and the answers the
protocol writes are `api/http/headlimits.py`. `cryptoagg serve` passes
`server_protocol(settings)` as uvicorn's `http=`; httptools is uvicorn's default parser
(uvicorn[standard]), h11 is kept for completeness and tests. Both rely on uvicorn internals
(`on_message_begin`, `send_400_response`, `cycle.more_body`, h11 states): the end-to-end
tests against a real server with either parser guard an upgrade.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from cryptoagg.api.http.headguard import HeadGuard
from cryptoagg.api.http.headlimits import HeadLimits
from cryptoagg.config import Settings


class HeaderTimeoutHttpTools(HeadGuard, HttpToolsProtocol):
    """httptools calls back with the URL in pieces and each header once it is complete, but
    buffers a header being received whatever its length: the bytes of a head are counted as
    they arrive too."""

    #: still reading a request line and headers (or waiting for the next request)
    _in_head = True
    #: bytes received while in the head, the target's and the headers' sizes
    _wire = _url_bytes = _header_bytes = 0

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._wire += len(data)
        super().data_received(data)
        if (
            self._in_head
            and self._wire > self.limits.wire_bytes
            and not self.transport.is_closing()
        ):
            self._refusal = self.limits.headers_too_large()
            self.send_400_response("")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._url_bytes = self._header_bytes = 0
        self._arm("headers")

    def on_url(self, url: bytes) -> None:
        self._url_bytes += len(url)
        if self._url_bytes > self.limits.max_url_bytes:
            raise self._refuse(self.limits.url_too_long())
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value)
        if self._header_bytes > self.limits.max_header_bytes:
            raise self._refuse(self.limits.headers_too_large())
        if len(self.headers) >= self.limits.max_headers:
            raise self._refuse(self.limits.too_many_headers())
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._timer.cancel()
        self._in_head = False
        self._wire = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True

    def owes_body(self) -> bool:
        return self.cycle is not None and bool(self.cycle.more_body)


class _CappedConnection(h11.Connection):
    """h11's server side with the caps: its own limit on an incomplete event bounds the
    buffered head, and each complete head is checked before uvicorn sees it."""

    def __init__(self, limits: HeadLimits) -> None:
        super().__init__(h11.SERVER, max_incomplete_event_size=limits.wire_bytes)
        self.limits = limits
        self.refusal: bytes | None = None

    def next_event(self) -> h11.Event | type[h11.NEED_DATA] | type[h11.PAUSED]:
        try:
            event = super().next_event()
        except h11.RemoteProtocolError as exc:
            if exc.error_status_hint == 431:  # "Receive buffer too long"
                self.refusal = self.limits.headers_too_large()
            raise
        if isinstance(event, h11.Request):
            self.refusal = self.limits.check(event.target, list(event.headers))
            if self.refusal is not None:
                raise h11.RemoteProtocolError("request head over the limits")
        return event


class HeaderTimeoutH11(HeadGuard, H11Protocol):
    """h11 hands over a head only when it is complete: the timer follows the connection's
    states, and the caps are the capped connection's."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.conn = _CappedConnection(self.limits)

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE and data:  # a request's line and headers
            self._arm("headers")
        super().data_received(data)
        state = self.conn.their_state
        owing = state is h11.SEND_BODY and self._timer.waiting == "body"
        if state is not h11.IDLE and not owing:
            self._timer.cancel()

    def send_400_response(self, msg: str) -> None:
        assert isinstance(self.conn, _CappedConnection)
        self._refusal = self.conn.refusal
        super().send_400_response(msg)

    def owes_body(self) -> bool:
        return self.conn.our_state is h11.DONE and self.conn.their_state is h11.SEND_BODY


def header_timeout_protocol(
    timeout_s: float,
    impl: Literal["httptools", "h11"] = "httptools",
    limits: HeadLimits | None = None,
) -> type[asyncio.Protocol]:
    """uvicorn's `http=` protocol class with the header timeout set to `timeout_s` and the
    head within `limits` (default: the settings' defaults)."""
    base: type[HeadGuard] = HeaderTimeoutH11 if impl == "h11" else HeaderTimeoutHttpTools
    attributes = {"header_timeout_s": timeout_s, "limits": limits or HeadLimits()}
    return type(base.__name__.removeprefix("HeaderTimeout"), (base,), attributes)


def server_protocol(
    settings: Settings, impl: Literal["httptools", "h11"] = "httptools"
) -> type[asyncio.Protocol]:
    """The protocol class `cryptoagg serve` runs: HEADER_TIMEOUT_S and the head caps."""
    limits = HeadLimits(settings.max_url_bytes, settings.max_header_bytes, settings.max_headers)
    return header_timeout_protocol(settings.header_timeout_s, impl, limits)
