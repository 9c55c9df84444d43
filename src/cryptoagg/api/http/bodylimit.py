"""Request body limit (MAX_BODY_BYTES): 413 in the error shape.

A declared `Content-Length` over the limit is refused before the handler runs. A chunked body
(or one longer than declared) is counted as the handler reads it, and reading past the limit
raises `BodyTooLarge`: the exception handlers turn it into the 413 (FastAPI lets
HTTPExceptions raised while it reads the body through), and `RequestLimits` answers it should
it get that far before the response started. A handler that never reads the body never pays
for it: the server stops reading from the socket once its small buffer is full. The 413
closes the connection, since the rest of the body is never read.

FastAPI's own `max_body_size` is not used: it answers in plain text, and a handler that does
not read the body still runs (and acts) before its response is replaced by the 413.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope

CLOSE = {"connection": "close"}


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes", headers=CLOSE)


def body_framing(scope: Scope) -> tuple[int | None, bool]:
    """The declared Content-Length (None when absent or unreadable) and whether the body
    comes in chunks (Transfer-Encoding)."""
    length = None
    chunked = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                length = None
        elif name == b"transfer-encoding":
            chunked = True
    return length, chunked


def counting(receive: Receive, limit: int) -> Receive:
    """`receive` that raises `BodyTooLarge` once the body read so far exceeds `limit`."""
    received = 0

    async def counting_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
        return message

    return counting_receive
