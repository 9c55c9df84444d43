"""Helpers of the pure-ASGI middlewares: answering in the API's error shape, and who the
client is (its address and whether it came over https), proxy headers only from a trusted
proxy."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from starlette.types import Receive, Scope, Send

from cryptoagg.api.http.errors import error_response

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


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
    """Answer with `{"error": {"code", "message", "details"}}` (for a WebSocket, before the
    handshake: the server's HTTP answer, when it supports the denial-response extension)."""
    response = error_response(status, code, message, details, headers)
    await response(scope, receive, send)


def _items(scope: Scope, name: bytes) -> list[str]:
    """The comma-separated items of a (possibly repeated) header, in order."""
    values = [v for k, v in scope.get("headers", ()) if k == name]
    if not values:
        return []
    items = (item.strip() for item in b",".join(values).decode("latin-1").split(","))
    return [item for item in items if item]


def _address(item: str) -> str | None:
    """The canonical form of an X-Forwarded-For item (`[v6]:port` and `v4:port` allowed);
    None if it is not an address."""
    if item.startswith("["):
        item = item[1:].partition("]")[0]
    elif item.count(":") == 1:
        item = item.partition(":")[0]
    try:
        return str(ipaddress.ip_address(item))
    except ValueError:
        return None


class TrustedProxies:
    """Which peers may tell us who the client is: TRUSTED_PROXIES (addresses and networks),
    or with the deprecated TRUST_PROXY_HEADERS whatever peer connects.

    A request from a trusted peer is from the address X-Forwarded-For names last, unless that
    is a trusted proxy too: each proxy appends the address it received the request from, so
    the list is walked from the right, past our own proxies, to the first address none of
    them is; entries further left are the client's own claims. If every entry is a proxy of
    ours, the leftmost is the client; an entry that is not an address ends the walk (the last
    address walked is the client). The peer's X-Forwarded-Proto says whether it was https."""

    __slots__ = ("any_peer", "networks", "trusts")

    def __init__(self, networks: Iterable[Network] = (), *, any_peer: bool = False) -> None:
        self.networks = tuple(networks)
        self.any_peer = any_peer
        #: whether an address (canonical text) is in `networks`; cached: every request asks
        self.trusts = lru_cache(maxsize=4096)(self._in_networks)

    def __bool__(self) -> bool:
        return self.any_peer or bool(self.networks)

    def _in_networks(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.networks)

    def trusts_peer(self, peer: str) -> bool:
        return self.any_peer or (bool(self.networks) and self.trusts(peer))

    def client(self, scope: Scope) -> str:
        peer = _peer(scope)
        if not self.trusts_peer(peer):
            return peer
        client = peer
        for item in reversed(_items(scope, b"x-forwarded-for")):
            address = _address(item)
            if address is None:
                break
            client = address
            if not self.trusts(address):
                break
        return client

    def https(self, scope: Scope) -> bool:
        if not self.trusts_peer(_peer(scope)):
            return False
        proto = _items(scope, b"x-forwarded-proto")
        return bool(proto) and proto[-1].lower() == "https"


NO_PROXIES = TrustedProxies()


def _peer(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def client_address(scope: Scope, proxies: TrustedProxies = NO_PROXIES) -> str:
    """The client's IP address: the connecting peer, or behind a trusted proxy the address it
    forwarded (see `TrustedProxies`)."""
    return proxies.client(scope) if proxies else _peer(scope)


def is_https(scope: Scope, proxies: TrustedProxies = NO_PROXIES) -> bool:
    """Whether the request reached us (or, through a trusted proxy, that proxy) over TLS."""
    if scope.get("scheme") in ("https", "wss"):
        return True
    return bool(proxies) and proxies.https(scope)
