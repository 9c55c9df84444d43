"""Header-read timeout (HEADER_TIMEOUT_S) for uvicorn: slow clients cannot hold connections.

uvicorn arms its keep-alive timer only after a response, and any byte received cancels it;
nothing bounds how long a client may take to send a request line and headers (on a new
connection, or once it has sent the first byte of the next request). A slow-loris client
that sends a header byte every few seconds holds its connection, and its file descriptor,
forever. These protocol subclasses add one timer per connection, armed

- when the connection opens, and when the first byte of a further request arrives;
- when a response is complete but the client has not finished sending the request body
  (the handler did not read it): the rest must arrive in time too,

and cancelled when a request's headers are complete (from then on the handler, bounded by
REQUEST_TIMEOUT_S, has the request). When it fires the connection is closed; a client that
had sent part of a request first gets a 408 in the API's error shape (one that sent nothing,
or still owed a body after its response, gets nothing more). A request in progress on the
same connection is never cut: it is answered, then the connection closes.

`cryptoagg serve` passes `header_timeout_protocol(settings.header_timeout_s)` as uvicorn's
`http=`; httptools is uvicorn's default parser (uvicorn[standard]), h11 is kept for
completeness and tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, ClassVar, Literal

import h11
import structlog
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from cryptoagg.api.errors import error_body
from cryptoagg.api.render import dumps

log = structlog.get_logger("cryptoagg.api")

DEFAULT_TIMEOUT_S = 10.0
Waiting = Literal["request", "headers", "body"]


def timeout_response(timeout_s: float) -> bytes:
    body = dumps(
        error_body(
            "request_timeout",
            f"the request line and headers did not arrive within {timeout_s:g} s",
        )
    )
    head = (
        "HTTP/1.1 408 Request Timeout\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


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


def _expire(
    transport: asyncio.Transport,
    client: tuple[str, int] | None,
    timer: _ReadTimer,
    timeout_s: float,
) -> None:
    timer.handle = None
    if transport.is_closing():
        return
    log.info(
        "header_timeout",
        client=client[0] if client else None,
        waiting_for=timer.waiting,
        timeout_s=timeout_s,
    )
    if timer.waiting == "headers":
        transport.write(timeout_response(timeout_s))
    transport.close()


def _fire(
    cycle: Any,
    transport: asyncio.Transport,
    client: tuple[str, int] | None,
    timer: _ReadTimer,
    timeout_s: float,
) -> None:
    """The timer ran out: a request still being answered is let finish (a pipelined one that
    stalls closes the connection after it); otherwise the connection expires."""
    if cycle is not None and not cycle.response_complete:
        timer.handle = None
        cycle.keep_alive = False
        return
    _expire(transport, client, timer, timeout_s)


class HeaderTimeoutHttpTools(HttpToolsProtocol):
    header_timeout_s: ClassVar[float] = DEFAULT_TIMEOUT_S

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._timer = _ReadTimer()

    def _arm(self, waiting: Waiting) -> None:
        self._timer.arm(waiting, self.loop, self.header_timeout_s, self._fire)

    def _fire(self) -> None:
        _fire(self.cycle, self.transport, self.client, self._timer, self.header_timeout_s)

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        super().connection_made(transport)
        self._arm("request")

    def connection_lost(self, exc: Exception | None) -> None:
        self._timer.cancel()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm("headers")

    def on_headers_complete(self) -> None:
        self._timer.cancel()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.cycle is not None and self.cycle.more_body:
            self._arm("body")

    def handle_websocket_upgrade(self) -> None:
        self._timer.cancel()
        super().handle_websocket_upgrade()


class HeaderTimeoutH11(H11Protocol):
    header_timeout_s: ClassVar[float] = DEFAULT_TIMEOUT_S

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._timer = _ReadTimer()

    def _arm(self, waiting: Waiting) -> None:
        self._timer.arm(waiting, self.loop, self.header_timeout_s, self._fire)

    def _fire(self) -> None:
        _fire(self.cycle, self.transport, self.client, self._timer, self.header_timeout_s)

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        super().connection_made(transport)
        self._arm("request")

    def connection_lost(self, exc: Exception | None) -> None:
        self._timer.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE and data:  # a request's line and headers
            self._arm("headers")
        super().data_received(data)
        state = self.conn.their_state
        owing = state is h11.SEND_BODY and self._timer.waiting == "body"
        if state is not h11.IDLE and not owing:
            self._timer.cancel()

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
    timeout_s: float, impl: Literal["httptools", "h11"] = "httptools"
) -> type[asyncio.Protocol]:
    """uvicorn's `http=` protocol class with the header timeout set to `timeout_s`."""
    if impl == "h11":

        class H11(HeaderTimeoutH11):
            header_timeout_s = timeout_s

        return H11

    class HttpTools(HeaderTimeoutHttpTools):
        header_timeout_s = timeout_s

    return HttpTools
