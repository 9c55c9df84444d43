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

`cryptoagg serve` passes `server_protocol(settings)` as uvicorn's `http=`; httptools is
uvicorn's default parser (uvicorn[standard]), h11 is kept for completeness and tests. Both
rely on uvicorn internals (`on_message_begin`, `send_400_response`, `cycle.more_body`, h11
states): the end-to-end tests against a real server with either parser guard an upgrade.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import h11
import structlog
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from cryptoagg.api.http.errors import error_body
from cryptoagg.api.render import dumps
from cryptoagg.config import Settings

log = structlog.get_logger("cryptoagg.api")

DEFAULT_TIMEOUT_S = 10.0
Waiting = Literal["request", "headers", "body"]
REASONS = {
    400: "Bad Request",
    408: "Request Timeout",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
}


def answer(status: int, code: str, message: str) -> bytes:
    """A whole response in the API's error shape, written by the protocol itself (the app
    never saw the request), with `connection: close`."""
    body = dumps(error_body(code, message))
    head = (
        f"HTTP/1.1 {status} {REASONS[status]}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "x-content-type-options: nosniff\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def timeout_response(timeout_s: float) -> bytes:
    return answer(
        408,
        "request_timeout",
        f"the request line and headers did not arrive within {timeout_s:g} s",
    )


BAD_REQUEST = answer(400, "bad_request", "invalid HTTP request")


_DEFAULT = Settings.model_fields


@dataclass(frozen=True, slots=True)
class HeadLimits:
    """What one request's line and headers may take (defaults: the settings' defaults)."""

    #: the request target (path and query), bytes (414 beyond): MAX_URL_BYTES
    max_url_bytes: int = _DEFAULT["max_url_bytes"].default
    #: header names and values together, bytes (431 beyond): MAX_HEADER_BYTES
    max_header_bytes: int = _DEFAULT["max_header_bytes"].default
    #: headers (431 beyond): MAX_HEADERS
    max_headers: int = _DEFAULT["max_headers"].default

    @property
    def wire_bytes(self) -> int:
        """The most a head within the caps takes on the wire: the target, the names and
        values, `: ` and CRLF per header, and room for the method, version and spaces."""
        return self.max_url_bytes + self.max_header_bytes + 4 * self.max_headers + 256

    def url_too_long(self) -> bytes:
        return answer(414, "uri_too_long", f"the request target is over {self.max_url_bytes} bytes")

    def headers_too_large(self) -> bytes:
        return answer(
            431,
            "header_fields_too_large",
            f"the request headers are over {self.max_header_bytes} bytes",
        )

    def too_many_headers(self) -> bytes:
        return answer(
            431, "header_fields_too_large", f"the request has over {self.max_headers} headers"
        )

    def check(self, target: bytes, headers: list[tuple[bytes, bytes]]) -> bytes | None:
        """The refusal of a complete head, if one is due."""
        if len(target) > self.max_url_bytes:
            return self.url_too_long()
        if len(headers) > self.max_headers:
            return self.too_many_headers()
        if sum(len(name) + len(value) for name, value in headers) > self.max_header_bytes:
            return self.headers_too_large()
        return None


class _ReadTimer:
    """A connection's one pending read timeout."""

    __slots__ = ("handle", "waiting")

    def __init__(self) -> None:
        self.handle: asyncio.TimerHandle | None = None
        #: for the first byte of a request, the rest of its headers, or (after the response)
        #: the rest of a body the handler did not read
        self.waiting: Waiting = "request"

    def arm(
        self,
        waiting: Waiting,
        loop: asyncio.AbstractEventLoop,
        seconds: float,
        fire: Callable[[], None],
    ) -> None:
        """Start the timer unless it runs (a request's first byte does not restart it)."""
        self.waiting = waiting
        if self.handle is None:
            self.handle = loop.call_later(seconds, fire)

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None


class _Refused(Exception):
    """Raised in a parser callback to stop parsing; uvicorn then calls `send_400_response`."""


class _Guarded(asyncio.Protocol):
    """What both parsers' protocols share: the read timer, and answering a request the
    server refuses before the app sees it. Listed before uvicorn's class in the bases, so
    `super()` is uvicorn's protocol."""

    header_timeout_s: ClassVar[float] = DEFAULT_TIMEOUT_S
    limits: ClassVar[HeadLimits] = HeadLimits()

    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    client: tuple[str, int] | None
    cycle: Any
    _timer: _ReadTimer
    #: the answer to the request being refused (a limit), else a parse error: 400
    _refusal: bytes | None

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        self._timer = _ReadTimer()
        self._refusal = None
        super().connection_made(transport)
        self._arm("request")

    def connection_lost(self, exc: Exception | None) -> None:
        self._timer.cancel()
        super().connection_lost(exc)

    def _arm(self, waiting: Waiting) -> None:
        self._timer.arm(waiting, self.loop, self.header_timeout_s, self._fire)

    def _fire(self) -> None:
        """The timer ran out: a request still being answered is let finish (a pipelined one
        that stalls closes the connection after it); otherwise the connection expires."""
        timer = self._timer
        timer.handle = None
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.keep_alive = False
            return
        if self.transport.is_closing():
            return
        log.info(
            "header_timeout",
            client=self.client[0] if self.client else None,
            waiting_for=timer.waiting,
            timeout_s=self.header_timeout_s,
        )
        if timer.waiting == "headers":
            self.transport.write(timeout_response(self.header_timeout_s))
        self.transport.close()

    def _refuse(self, response: bytes) -> _Refused:
        self._refusal = response
        return _Refused()

    def send_400_response(self, msg: str) -> None:
        """Where uvicorn answers what its parser refused (plain text there): our limit's
        answer, or a 400, in the error shape; then the connection is closed."""
        response = self._refusal or BAD_REQUEST
        self._timer.cancel()
        log.info(
            "request_refused",
            client=self.client[0] if self.client else None,
            status=int(response[9:12]),
        )
        self.transport.write(response)
        self.transport.close()


class HeaderTimeoutHttpTools(_Guarded, HttpToolsProtocol):
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

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.cycle is not None and self.cycle.more_body:
            self._arm("body")

    def handle_websocket_upgrade(self) -> None:
        self._timer.cancel()
        super().handle_websocket_upgrade()


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


class HeaderTimeoutH11(_Guarded, H11Protocol):
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

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if (
            not self.transport.is_closing()
            and self.conn.our_state is h11.DONE
            and self.conn.their_state is h11.SEND_BODY
        ):
            self._arm("body")

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._timer.cancel()
        super().handle_websocket_upgrade(event)


def header_timeout_protocol(
    timeout_s: float,
    impl: Literal["httptools", "h11"] = "httptools",
    limits: HeadLimits | None = None,
) -> type[asyncio.Protocol]:
    """uvicorn's `http=` protocol class with the header timeout set to `timeout_s` and the
    head within `limits` (default: the settings' defaults)."""
    base: type[_Guarded] = HeaderTimeoutH11 if impl == "h11" else HeaderTimeoutHttpTools
    attributes = {"header_timeout_s": timeout_s, "limits": limits or HeadLimits()}
    return type(base.__name__.removeprefix("HeaderTimeout"), (base,), attributes)


def server_protocol(
    settings: Settings, impl: Literal["httptools", "h11"] = "httptools"
) -> type[asyncio.Protocol]:
    """The protocol class `cryptoagg serve` runs: HEADER_TIMEOUT_S and the head caps."""
    limits = HeadLimits(settings.max_url_bytes, settings.max_header_bytes, settings.max_headers)
    return header_timeout_protocol(settings.header_timeout_s, impl, limits)
