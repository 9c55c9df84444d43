"""What the header-timeout protocols of both parsers share (`api/http/headertimeout.py`): the
connection's read timer, what happens when it runs out, and answering a request the server
refuses before the app sees it.

`HeadGuard` is a mixin listed before uvicorn's protocol class in the bases, so `super()` is
uvicorn's `HttpToolsProtocol` or `H11Protocol`. A parser's class adds only what its parser
makes different: when a head begins and ends, and whether the client still owes body bytes
after a response (`owes_body`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, ClassVar, Literal, Protocol, cast

import structlog

from cryptoagg.api.http.headlimits import BAD_REQUEST, HeadLimits, timeout_response

log = structlog.get_logger("cryptoagg.api")

DEFAULT_TIMEOUT_S = 10.0
Waiting = Literal["request", "headers", "body"]


class ReadTimer:
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


class Refused(Exception):
    """Raised in a parser callback to stop parsing; uvicorn then calls `send_400_response`."""


class _Uvicorn(Protocol):
    """The methods of uvicorn's protocols (both parsers) that the guard extends."""

    def on_response_complete(self) -> None: ...

    def handle_websocket_upgrade(self, *args: Any) -> None: ...


class HeadGuard(asyncio.Protocol):
    """The read timer and the refusals, for either parser's protocol (see the module
    docstring)."""

    header_timeout_s: ClassVar[float] = DEFAULT_TIMEOUT_S
    limits: ClassVar[HeadLimits] = HeadLimits()

    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    client: tuple[str, int] | None
    cycle: Any
    _timer: ReadTimer
    #: the answer to the request being refused (a limit), else a parse error: 400
    _refusal: bytes | None

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        self._timer = ReadTimer()
        self._refusal = None
        super().connection_made(transport)
        self._arm("request")

    def connection_lost(self, exc: Exception | None) -> None:
        self._timer.cancel()
        super().connection_lost(exc)

    def owes_body(self) -> bool:
        """After a response: whether the client has not finished sending the request's
        body (the handler did not read it). The parser's class knows."""
        raise NotImplementedError

    def on_response_complete(self) -> None:
        """The rest of a body the handler did not read must arrive in time too."""
        cast(_Uvicorn, super()).on_response_complete()
        if not self.transport.is_closing() and self.owes_body():
            self._arm("body")

    def handle_websocket_upgrade(self, *args: Any) -> None:
        """A WebSocket's frames are not a request head: no read timeout from here on."""
        self._timer.cancel()
        cast(_Uvicorn, super()).handle_websocket_upgrade(*args)

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

    def _refuse(self, response: bytes) -> Refused:
        self._refusal = response
        return Refused()

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
