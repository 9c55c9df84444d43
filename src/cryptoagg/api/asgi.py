"""Helpers of the pure-ASGI middlewares: answering in the API's error shape, and who the
client is (its address and whether it came over https), proxy headers only when trusted."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from starlette.types import Receive, Scope, Send

from cryptoagg.api.errors import error_response


async def send_error(
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Answer with `{"error": {"code", "message", "details"}}`."""
    response = error_response(status, code, message, details, headers)
    await response(scope, receive, send)


def _last_value(scope: Scope, name: bytes) -> str | None:
    """The last comma-separated item of a (possibly repeated) header: the one that the
    nearest proxy added."""
    values = [v for k, v in scope.get("headers", ()) if k == name]
    if not values:
        return None
    items = [item.strip() for item in b",".join(values).decode("latin-1").split(",")]
    items = [item for item in items if item]
    return items[-1] if items else None


def client_address(scope: Scope, trust_proxy: bool) -> str:
    """The client's IP address: the connecting peer, or with `trust_proxy` the address your
    proxy appended to X-Forwarded-For (earlier entries are the client's own claims)."""
    if trust_proxy:
        forwarded = _last_value(scope, b"x-forwarded-for")
        if forwarded is not None:
            try:
                return str(ipaddress.ip_address(forwarded.strip("[]")))
            except ValueError:
                pass
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def is_https(scope: Scope, trust_proxy: bool) -> bool:
    """Whether the request reached us (or, with `trust_proxy`, your proxy) over TLS."""
    if scope.get("scheme") in ("https", "wss"):
        return True
    return trust_proxy and _last_value(scope, b"x-forwarded-proto") == "https"
