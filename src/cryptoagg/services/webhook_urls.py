"""Webhook URLs checked like input: http(s) only, every address the host resolves to judged
by `services/webhook_addresses.py` (unless `WEBHOOK_ALLOW_PRIVATE` is set).

URLs are checked at start-up and again before every attempt (DNS answers change); the
`Target` a check returns holds the addresses that passed, and the notifier sends to one of
them, so a second, rebinding DNS answer is never used. Logged URLs are reduced to scheme, host
and port (`describe_url`): webhook paths often carry a token (Slack, Discord).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from cryptoagg.services.webhook_addresses import WebhookRefused, literal_address, refusal

Resolver = Callable[[str, int], list[str]]


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL and the addresses its host resolved to (all of them allowed)."""

    url: httpx.URL
    addresses: list[str]


def describe_url(url: str | httpx.URL) -> str:
    """A URL safe to log: scheme, host and port only."""
    try:
        parsed = httpx.URL(str(url))
    except httpx.InvalidURL:
        return "<invalid url>"
    return f"{parsed.scheme}://{parsed.netloc.decode('ascii', 'replace')}/…"


def parse_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise WebhookRefused("not a valid URL") from None
    if parsed.scheme not in ("http", "https"):
        raise WebhookRefused("only http:// and https:// webhook URLs are allowed")
    if not parsed.raw_host:
        raise WebhookRefused("the URL has no host")
    return parsed


def system_resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (blocking: call it in a thread)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_url(url: str, *, allow_private: bool, resolve: Resolver = system_resolve) -> Target:
    """Resolve the URL's host and refuse it unless every address is global (or private
    addresses are allowed). A literal address is checked as it is, never resolved. Raises
    `WebhookRefused`, or `OSError` when resolution fails."""
    parsed = parse_url(url)
    host = parsed.raw_host.decode("ascii").strip("[]")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    literal = literal_address(host)
    addresses = [str(literal)] if literal is not None else resolve(host, port)
    if not addresses:
        raise OSError(f"{host} has no address")
    if not allow_private:
        verb = "is" if literal is not None else "resolves to"
        for address in addresses:
            found = refusal(address)
            if found is not None:
                raise WebhookRefused(
                    f"host {verb} a {found.why} address ({found.detail}); "
                    "set WEBHOOK_ALLOW_PRIVATE=true to allow it"
                )
    return Target(parsed, addresses)
