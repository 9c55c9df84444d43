"""Alert delivery to webhooks: a JSON POST per matching alert rule, retried with exponential
backoff within a bounded number of attempts, with the outcome stored on the alert row.

SSRF guard: a webhook URL must be http(s), and every address its host resolves to must be
global (not loopback, private, link-local, shared, reserved, multicast or unspecified) unless
`WEBHOOK_ALLOW_PRIVATE` is set. URLs are checked at start-up and again before every attempt
(DNS answers change), and the request is sent to the address that was checked — the URL's
host goes in the `Host` header and in TLS SNI, and the certificate is verified against it —
so a second, rebinding DNS answer is never used. Redirects are not followed. Logged URLs are
reduced to scheme, host and port: webhook paths often carry a token (Slack, Discord).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
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


def non_global_reason(address: str) -> str | None:
    """Why an address must not be called (None when it is a global unicast address)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # most specific first: link-local and reserved ranges are also "private" to ipaddress
    for flag in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(ip, f"is_{flag}"):
            return flag.replace("_", "-")
    if not ip.is_global:
        return "non-global"
    return None


def system_resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (blocking: call it in a thread)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_url(url: str, *, allow_private: bool, resolve: Resolver = system_resolve) -> Target:
    """Resolve the URL's host and refuse it unless every address is global (or private
    addresses are allowed). Raises `WebhookRefused`, or `OSError` when resolution fails."""
    parsed = parse_url(url)
    host = parsed.raw_host.decode("ascii")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    addresses = resolve(host.strip("[]"), port)
    if not addresses:
        raise OSError(f"{host} has no address")
    if not allow_private:
        for address in addresses:
            why = non_global_reason(address)
            if why is not None:
                raise WebhookRefused(
                    f"host resolves to a {why} address ({address}); "
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
