"""What a request's line and headers may take (MAX_URL_BYTES, MAX_HEADER_BYTES, MAX_HEADERS),
and the answers the server protocol writes itself (400, 408, 414, 431).

These refusals happen in the protocol (`api/http/headertimeout.py`), before the app has seen
the request, so each is a whole HTTP/1.1 response in the API's error shape, written straight
to the transport and followed by closing the connection.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptoagg.api.http.errors import error_body
from cryptoagg.api.render import dumps
from cryptoagg.config import Settings

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
