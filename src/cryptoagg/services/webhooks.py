"""Alert delivery to webhooks: a JSON POST per matching alert rule, retried with exponential
backoff within a bounded number of attempts, with the outcome stored on the alert row.

SSRF guard: a webhook URL must be http(s), and every address its host resolves to must be
global (not loopback, private, link-local, shared, reserved, multicast or unspecified) unless
`WEBHOOK_ALLOW_PRIVATE` is set. An IPv6 address that carries IPv4 addresses (mapped,
compatible, SIIT, 6to4, Teredo, NAT64, ISATAP: `CARRIERS`) is refused when any IPv4 address
inside is not global, whether it is written in the URL or comes from DNS. A literal host is
read as the C resolver reads it (`2130706433`, `0x7f.1` are 127.0.0.1) and never looked up;
IPv6 zone ids are refused. URLs are checked at start-up and again before every attempt
(DNS answers change), and the request is sent to the address that was checked — the URL's
host goes in the `Host` header and in TLS SNI, and the certificate is verified against it —
so a second, rebinding DNS answer is never used. Redirects are not followed. Logged URLs are
reduced to scheme, host and port: webhook paths often carry a token (Slack, Discord).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import structlog

from cryptoagg import __version__
from cryptoagg.core.errors import ConfigError, CryptoAggError
from cryptoagg.storage.monitoring import AlertRecord, AlertRepository

log = structlog.get_logger("cryptoagg.webhooks")

EVENTS = frozenset({"opened", "resolved"})
Resolver = Callable[[str, int], list[str]]


class WebhookRefused(CryptoAggError):
    """The URL is not one we may send to."""

    code = "webhook_refused"


@dataclass(frozen=True, slots=True)
class AlertRule:
    """Where alerts go. `source` names the setting it came from, for error messages."""

    webhook_url: str
    source: str
    providers: frozenset[str] | None = None
    events: frozenset[str] | None = None

    def matches(self, alert: AlertRecord) -> bool:
        if self.events is not None and alert.kind not in self.events:
            return False
        return self.providers is None or alert.provider in self.providers


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


# -- literal hosts ------------------------------------------------------------------------

# one part of an IPv4 address as the C resolver reads it (inet_aton): hex, octal or decimal
_IPV4_PART = re.compile(r"0x[0-9a-f]*|0[0-7]*|[1-9][0-9]*|[0-9]+", re.IGNORECASE)


def _ipv4_number(part: str) -> int | None:
    """The value of one inet_aton part; None when it is not a valid number (`0x`, `08`)."""
    lower = part.lower()
    if lower.startswith("0x"):
        return int(lower[2:], 16) if len(lower) > 2 else None
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8) if all(c in "01234567" for c in part) else None
    return int(part)


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a URL host names literally, or None when it is a name to resolve.

    IPv6 literals (httpx hands them over without brackets) may not carry a zone id. An IPv4
    literal is read the way the C resolver reads it (`getaddrinfo` → `inet_aton`), so every
    spelling of an address is checked as that address: `2130706433`, `0x7f.1` and `0177.0.0.1`
    are all 127.0.0.1. A host whose last label is a number but which is no valid IPv4 address
    (`1.2.3.4.5`, `4294967296`, `08.0.0.1`) is refused, as a WHATWG URL parser refuses it,
    rather than looked up as a name.
    """
    if ":" in host:
        if "%" in host:
            raise WebhookRefused("IPv6 zone ids are not allowed in webhook URLs")
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise WebhookRefused("not a valid URL") from None
    parts = host.removesuffix(".").split(".")
    if not _IPV4_PART.fullmatch(parts[-1]):
        return None  # a name: its last label is not a number
    numbers = [_ipv4_number(p) if _IPV4_PART.fullmatch(p) else None for p in parts]
    *leading, last = numbers
    if len(parts) > 4 or last is None or any(n is None or n > 255 for n in leading):
        raise WebhookRefused(f"not a valid IPv4 address: {host}")
    if last >= 1 << (8 * (5 - len(parts))):
        raise WebhookRefused(f"not a valid IPv4 address: {host}")
    value = last
    for index, number in enumerate(leading):
        value |= (number or 0) << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


# -- addresses that carry an IPv4 address --------------------------------------------------

IPv4 = ipaddress.IPv4Address
IPv6 = ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class Carrier:
    """An IPv6 form that embeds IPv4 addresses. A connection to such an address can reach the
    IPv4 host (dual-stack socket, tunnel, relay or translator), so every IPv4 address inside
    is judged as an address of its own. `by_ipv4_alone`: with only global IPv4 inside, the
    address is allowed (IANA lists the prefix as globally reachable or "N/A"); otherwise the
    form is refused anyway (deprecated, obsolete or not globally reachable) and the IPv4
    inside only makes the reason more precise."""

    name: str
    network: ipaddress.IPv6Network
    by_ipv4_alone: bool
    extract: Callable[[IPv6], list[IPv4]]


def _low32(ip: IPv6) -> list[IPv4]:
    return [IPv4(int(ip) & 0xFFFFFFFF)]


def _sixtofour(ip: IPv6) -> list[IPv4]:
    return [] if ip.sixtofour is None else [ip.sixtofour]


def _teredo(ip: IPv6) -> list[IPv4]:
    return [] if ip.teredo is None else list(ip.teredo)  # (server, client), de-obfuscated


def _net(text: str) -> ipaddress.IPv6Network:
    return ipaddress.IPv6Network(text)


# ::a.b.c.d, deprecated by RFC 4291; Linux's sit0 still tunnels it to the IPv4 address
COMPATIBLE = Carrier("deprecated IPv4-compatible", _net("::/96"), False, _low32)
CARRIERS: tuple[Carrier, ...] = (
    # ::ffff:a.b.c.d, how a dual-stack socket names an IPv4 peer
    Carrier("IPv4-mapped", _net("::ffff:0:0/96"), True, _low32),
    # ::ffff:0:a.b.c.d, SIIT (RFC 2765, obsoleted by RFC 6145)
    Carrier("SIIT IPv4-translated", _net("::ffff:0:0:0/96"), False, _low32),
    COMPATIBLE,
    # 2002:AABB:CCDD::/48 (RFC 3056): 6to4 relays send it to AA.BB.CC.DD
    Carrier("6to4", _net("2002::/16"), True, _sixtofour),
    # 2001:0:<server>:<flags>:<port>:<client, inverted> (RFC 4380)
    Carrier("Teredo", _net("2001::/32"), True, _teredo),
    # 64:ff9b::a.b.c.d, NAT64's well-known prefix (RFC 6052): the translator connects to it
    Carrier("NAT64", _net("64:ff9b::/96"), True, _low32),
    # 64:ff9b:1::/48 (RFC 8215), not globally reachable; a /96 inside it is the usual layout
    Carrier("NAT64 local-use", _net("64:ff9b:1::/48"), False, _low32),
)
# an ISATAP interface id (RFC 5214): [0-3]00:5efe:a.b.c.d under any prefix (so no network of
# its own); the prefix routes it, but a host with an ISATAP tunnel for that prefix sends it
# to the IPv4 address
ISATAP = Carrier("ISATAP", _net("::/0"), False, _low32)
# :: and ::1 are the unspecified and loopback addresses, not IPv4-compatible ones
_NOT_COMPATIBLE = (IPv6("::"), IPv6("::1"))


def carrier_of(ip: IPv6) -> Carrier | None:
    """The form of `ip` that carries IPv4 addresses, if it is one."""
    for carrier in CARRIERS:
        if ip in carrier.network:
            if carrier is COMPATIBLE and ip in _NOT_COMPATIBLE:
                return None
            return carrier
    if (int(ip) >> 32) & 0xFCFFFFFF == 0x00005EFE:
        return ISATAP
    return None


def embedded_ipv4(ip: IPv6) -> list[IPv4]:
    """Every IPv4 address inside `ip` (none for an address that carries none)."""
    carrier = carrier_of(ip)
    return [] if carrier is None else carrier.extract(ip)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an address must not be called: `why` as in "a loopback address"; `detail` names
    the address and, when the IPv4 address inside it decided, that one."""

    why: str
    detail: str


def _own_reason(ip: IPv4 | IPv6) -> str | None:
    # most specific first: link-local and reserved ranges are also "private" to ipaddress
    for flag in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(ip, f"is_{flag}"):
            return flag.replace("_", "-")
    if not ip.is_global:
        return "non-global"
    return None


def refusal(address: str) -> Refusal | None:
    """Why `address` must not be called (None when it may).

    An address that carries IPv4 (`CARRIERS`, `ISATAP`) is refused when any IPv4 address
    inside it is not global. Carrying only global IPv4, a mapped, 6to4, Teredo or NAT64
    address is allowed (its prefix says nothing about where it leads, and what ipaddress says
    about it differs between Python versions); the other forms must pass as themselves too.
    Any other address must be global. A zone id (`fe80::1%eth0`) does not change the verdict.
    """
    text = address.split("%", 1)[0]
    ip = ipaddress.ip_address(text)
    if isinstance(ip, IPv6):
        carrier = carrier_of(ip)
        if carrier is not None:
            for inside in carrier.extract(ip):
                why = _own_reason(inside)
                if why is not None:
                    return Refusal(why, f"{inside} inside the {carrier.name} address {text}")
            if carrier.by_ipv4_alone:
                return None
            why = _own_reason(ip)
            return None if why is None else Refusal(why, f"{text}, a {carrier.name} address")
    why = _own_reason(ip)
    return None if why is None else Refusal(why, text)


def non_global_reason(address: str) -> str | None:
    """Why an address must not be called, in one word (None when it may): see `refusal`."""
    found = refusal(address)
    return None if found is None else found.why


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


def check_rules(
    rules: Iterable[AlertRule], *, allow_private: bool, resolve: Resolver = system_resolve
) -> None:
    """Start-up check: a refused URL stops start-up with a `ConfigError` naming its setting.
    A host that does not resolve now only warns (DNS may be down); sending checks again."""
    for rule in rules:
        try:
            check_url(rule.webhook_url, allow_private=allow_private, resolve=resolve)
        except WebhookRefused as exc:
            raise ConfigError(f"{rule.source}: webhook URL refused: {exc.message}") from None
        except OSError as exc:
            log.warning(
                "webhook_unresolved",
                source=rule.source,
                target=describe_url(rule.webhook_url),
                error=type(exc).__name__,
            )


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    attempts: int = 4
    timeout_s: float = 5.0
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0

    def delay_s(self, attempt: int) -> float:
        """Wait after failed attempt number `attempt` (1-based)."""
        return float(min(self.backoff_s * 2 ** (attempt - 1), self.max_backoff_s))


def payload(alert: AlertRecord) -> dict[str, Any]:
    return {
        "event": alert.kind,
        "provider": alert.provider,
        "incident_id": alert.incident_id,
        "alert_id": alert.id,
        "at": alert.at.isoformat().replace("+00:00", "Z"),
        "message": alert.message,
        "text": f"[cryptoagg] {alert.message}",  # what Slack-style receivers display
    }


def _retryable(status: int) -> bool:
    return status >= 500 or status in (408, 425, 429)


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    retryable: bool
    detail: str


@dataclass
class WebhookNotifier:
    """Queues alerts that match a rule and delivers them from one tracked background task."""

    rules: Sequence[AlertRule]
    alerts: AlertRepository
    allow_private: bool = False
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    client: httpx.AsyncClient | None = None
    resolve: Resolver = system_resolve
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    max_queue: int = 1000
    dropped: int = 0
    _queue: asyncio.Queue[AlertRecord] = field(init=False)
    _task: asyncio.Task[None] | None = field(default=None, init=False)
    _owns_client: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self._queue = asyncio.Queue(self.max_queue)
        if self.client is None:
            # no proxies from the environment, no redirects: either would bypass the guard
            self.client = httpx.AsyncClient(
                trust_env=False,
                follow_redirects=False,
                headers={"user-agent": f"cryptoagg/{__version__}"},
            )
            self._owns_client = True

    def notify(self, alert: AlertRecord) -> None:
        if not any(rule.matches(alert) for rule in self.rules):
            return
        try:
            self._queue.put_nowait(alert)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("webhook_queue_full", alert_id=alert.id, dropped=self.dropped)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhooks")

    async def _run(self) -> None:
        while True:
            alert = await self._queue.get()
            try:
                await self.deliver(alert)
            except Exception as exc:
                log.error("webhook_delivery_crashed", alert_id=alert.id, error=type(exc).__name__)
            finally:
                self._queue.task_done()

    async def aclose(self, drain_s: float = 5.0) -> None:
        """Give queued alerts `drain_s` to go out, then stop (undelivered rows stay so)."""
        if self._task is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), drain_s)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._owns_client and self.client is not None:
            await self.client.aclose()

    async def deliver(self, alert: AlertRecord) -> tuple[bool, int]:
        """Send to every matching rule; delivered means there was one and all accepted it."""
        matching = [rule for rule in self.rules if rule.matches(alert)]
        if not matching:
            return False, 0
        delivered, attempts = True, 0
        body = orjson.dumps(payload(alert))
        for rule in matching:
            ok, tries = await self.send(rule, body)
            delivered = delivered and ok
            attempts += tries
        await asyncio.to_thread(self.alerts.mark, alert.id, delivered=delivered, attempts=attempts)
        return delivered, attempts

    async def send(self, rule: AlertRule, body: bytes) -> tuple[bool, int]:
        """POST `body` to the rule's URL; returns (accepted, attempts made). A failed DNS
        lookup uses up an attempt too; a refused address ends delivery at once."""
        name = describe_url(rule.webhook_url)
        for attempt in range(1, self.policy.attempts + 1):
            try:
                target = await asyncio.to_thread(
                    check_url,
                    rule.webhook_url,
                    allow_private=self.allow_private,
                    resolve=self.resolve,
                )
            except WebhookRefused as exc:
                log.warning("webhook_refused", target=name, reason=exc.message)
                return False, attempt - 1
            except OSError as exc:
                outcome = Outcome(False, True, f"resolution failed: {type(exc).__name__}")
            else:
                outcome = await self._post(target, body)
            if outcome.ok:
                log.info("webhook_delivered", target=name, attempts=attempt)
                return True, attempt
            if not outcome.retryable:
                log.warning("webhook_rejected", target=name, error=outcome.detail)
                return False, attempt
            if attempt < self.policy.attempts:
                log.info("webhook_retry", target=name, error=outcome.detail, attempt=attempt)
                await self.sleep(self.policy.delay_s(attempt))
        log.warning("webhook_failed", target=name, attempts=self.policy.attempts)
        return False, self.policy.attempts

    async def _post(self, target: Target, body: bytes) -> Outcome:
        """One attempt, sent to the checked address (see the module docstring)."""
        assert self.client is not None
        url = target.url
        headers = {"host": url.netloc.decode("ascii"), "content-type": "application/json"}
        extensions = {"sni_hostname": url.raw_host.decode("ascii")} if url.scheme == "https" else {}
        try:
            response = await self.client.post(
                url.copy_with(host=target.addresses[0]),
                content=body,
                headers=headers,
                extensions=extensions,
                timeout=self.policy.timeout_s,
            )
        except httpx.TimeoutException:
            return Outcome(False, True, "timeout")
        except httpx.HTTPError as exc:
            return Outcome(False, True, type(exc).__name__)
        status = response.status_code
        return Outcome(response.is_success, _retryable(status), f"HTTP {status}")
