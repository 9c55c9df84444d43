"""Alert delivery to webhooks: a JSON POST per matching alert rule, retried with exponential
backoff within a bounded number of attempts, with the outcome stored on the alert row.

Every attempt checks the rule's URL again (`services/webhook_urls.py`: http(s) only, every
address the host resolves to global unless `WEBHOOK_ALLOW_PRIVATE`, judged by
`services/webhook_addresses.py`) and sends to the address that passed: the URL's host goes in
the `Host` header and in TLS SNI, and the certificate is verified against it, so a second,
rebinding DNS answer is never used. Redirects are not followed and no proxy is taken from the
environment. Logged URLs are reduced to scheme, host and port.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import structlog

from cryptoagg import __version__
from cryptoagg.core.errors import ConfigError
from cryptoagg.services.webhook_addresses import WebhookRefused
from cryptoagg.services.webhook_urls import (
    Resolver,
    Target,
    check_url,
    describe_url,
    system_resolve,
)
from cryptoagg.storage.incidents import AlertRecord, AlertRepository

log = structlog.get_logger("cryptoagg.webhooks")

EVENTS = frozenset({"opened", "resolved"})


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
