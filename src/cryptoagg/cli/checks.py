"""One real call per provider, for `cryptoagg providers check` and `providers schema`.

The call is the health check's probe (`services.probes`: the adapter's own or its cheapest
call), sent the health collector's way (`probes.send`: the guarded path of every call,
`GuardedCalls`), charged to the `health` job at probe priority: a refusal of the rate budget
or the monthly quota is reported as `skipped: budget` and nothing is sent. A provider is
probed no more often than the monthly plan lets the health collector probe it: when its next
probe is not due, `check` reports the last recorded probe (`response_times`, where the
collector and these commands record every probe they send) instead of calling. In mock mode
nothing is recorded or spaced (the simulator has no quota).

`providers schema` needs the bodies its probes received: it builds the container with an
event hook on the outbound client (`capture_hooks`, given to `build`), which keeps what arrives
while a probe of this run is out (`_capture`, set around each probe) and nothing else.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from cryptoagg.bootstrap import Container
from cryptoagg.bootstrap.resources import EventHooks
from cryptoagg.core.errors import BudgetExhausted, ProviderError
from cryptoagg.core.limits import Priority
from cryptoagg.core.ports import Provider
from cryptoagg.logging import REDACTED, redact_url
from cryptoagg.providers.base import HttpProvider
from cryptoagg.resilience.guard import GuardedCalls
from cryptoagg.resilience.scope import background
from cryptoagg.services.probes import JOB as HEALTH_JOB
from cryptoagg.services.probes import Probe, Refused, probe_for, send
from cryptoagg.storage.monitoring import ResponseTimeRecord, ResponseTimeRepository

SKIPPED = "skipped: budget"
_URL = re.compile(r"https?://\S+")


@dataclass(frozen=True, slots=True)
class Response:
    """A response a probe received: its path below the provider's base URL, no query."""

    path: str
    status: int
    body: bytes


@dataclass(slots=True)
class ProbeResult:
    provider: str
    #: "ok", the error's kind (`unavailable`, `timeout`, …), `skipped: budget` or `disabled`
    result: str
    latency_ms: float | None = None
    detail: str = ""
    endpoint: str = ""
    error: ProviderError | None = None
    #: what the probe returned (None when it failed or was not sent)
    value: object = None
    responses: list[Response] = field(default_factory=list)
    #: the last recorded probe, when the quota spacing said not to send another
    recent: ResponseTimeRecord | None = None

    @property
    def ok(self) -> bool:
        return self.result == "ok"


_capture: ContextVar[list[tuple[httpx.URL, int, bytes]] | None] = ContextVar(
    "cryptoagg_cli_capture", default=None
)


async def _keep_body(response: httpx.Response) -> None:
    sink = _capture.get()
    if sink is not None:
        await response.aread()
        sink.append((response.request.url, response.status_code, response.content))


def capture_hooks() -> EventHooks:
    """The outbound client's hooks for a run that captures (`build(event_hooks=...)`): each
    response that arrives within `probe(..., capture=True)` is kept with its body."""
    return {"response": [_keep_body]}


def relative_path(provider: Provider, url: httpx.URL) -> str:
    """`url`'s path below the provider's base URL for the host it went to."""
    if not isinstance(provider, HttpProvider):
        return url.path
    bases = []
    for host in provider.hosts:
        base = urlsplit(provider.base_url(host))
        if base.netloc == url.netloc.decode() and url.path.startswith(base.path.rstrip("/")):
            bases.append(base.path.rstrip("/"))
    return url.path[len(max(bases, key=len, default="")) :] or "/"


def safe(text: str, secrets: Sequence[str]) -> str:
    """`text` with URLs redacted and every configured secret masked."""
    text = _URL.sub(lambda m: redact_url(m.group()), text)
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text[:300]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Prober:
    """Sends the probes of one command run and records them (outside mock mode)."""

    def __init__(self, container: Container, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self.container = container
        self.clock = clock
        self.record = not container.mock
        self.secrets = container.settings.secrets()
        self.timeout_s = container.settings.request_deadline_s
        self.repository = ResponseTimeRepository(container.engine)
        self.calls = GuardedCalls(container.guards, container.health, random.Random())  # noqa: S311
        self.sent: list[ResponseTimeRecord] = []

    async def probe(self, provider: Provider, *, capture: bool = False) -> ProbeResult:
        name = provider.name
        if provider.disabled_reason is not None:
            return ProbeResult(name, "disabled", detail=provider.disabled_reason)
        probe = probe_for(provider, self.container.registry)
        if probe is None or name not in self.container.guards:
            return ProbeResult(name, "skipped", detail="no call to probe it with")
        guards = self.container.guards
        metered = guards[name].budget.limits.monthly is not None
        with background(HEALTH_JOB, Priority.PROBE, self.clock()):
            # a provider with a monthly quota is probed no more often than its plan allows
            if self.record and metered and guards.admits(name) is not None:
                recent = await self._recent_probe(provider)
                if recent is not None:
                    return self._from_recent(name, probe.endpoint, recent)
            return await self._send(provider, probe, capture=capture)

    async def _send(self, provider: Provider, probe: Probe, *, capture: bool) -> ProbeResult:
        name = provider.name
        at = self.clock()
        sink: list[tuple[httpx.URL, int, bytes]] = []
        if capture:
            _capture.set(sink)
        try:
            sent = await send(self.calls, provider, probe, self.timeout_s)
        finally:
            _capture.set(None)
        if isinstance(sent, Refused):
            refusal = sent.error
            if isinstance(refusal, BudgetExhausted):
                return ProbeResult(name, SKIPPED, detail=refusal.detail, endpoint=probe.endpoint)
            detail = safe(refusal.detail, self.secrets)
            return ProbeResult(name, refusal.reason, detail=detail, error=refusal)
        ok, error = sent.ok, sent.error
        self.sent.append(ResponseTimeRecord(at, name, probe.endpoint, sent.latency_ms, ok))
        detail = ""
        if error is not None:
            # the kind is the result column's, unless the answer still counts as ok
            detail = safe(
                error.detail if not ok else f"{error.reason}: {error.detail}", self.secrets
            )
        result = ProbeResult(
            name,
            "ok" if ok or error is None else error.reason,
            sent.latency_ms,
            detail=detail,
            endpoint=probe.endpoint,
            error=error,
            value=sent.value,
        )
        result.responses = [Response(relative_path(provider, u), s, b) for u, s, b in sink]
        return result

    async def _recent_probe(self, provider: Provider) -> ResponseTimeRecord | None:
        """The last recorded probe (the plan allows no new one yet)."""
        rows = await asyncio.to_thread(self.repository.recent, provider.name, 1)
        return rows[0] if rows else None

    def _from_recent(self, name: str, endpoint: str, recent: ResponseTimeRecord) -> ProbeResult:
        interval_s = self.container.guards.plan.interval_s(HEALTH_JOB, name)
        at = recent.at.astimezone(UTC).strftime("%H:%M:%SZ")
        rule = (
            "the monthly plan pauses probes for the rest of the month"
            if interval_s is None
            else f"the monthly plan allows one probe every {round(interval_s / 60)} min"
        )
        if recent.ok:
            detail = f"not sent: the probe at {at} answered ({rule})"
            return ProbeResult(name, "ok", recent.latency_ms, detail, endpoint, recent=recent)
        detail = f"not sent: the probe at {at} failed ({rule})"
        return ProbeResult(name, SKIPPED, None, detail, endpoint, recent=recent)

    async def run(
        self,
        providers: Sequence[Provider],
        *,
        capture: bool = False,
        done: Callable[[ProbeResult], None] | None = None,
    ) -> list[ProbeResult]:
        """Probe every provider at once (in the given order); `done` hears of each result.
        With `capture`, the container must have been built with `capture_hooks()`."""

        async def one(provider: Provider) -> ProbeResult:
            result = await self.probe(provider, capture=capture)
            if done is not None:
                done(result)
            return result

        results = await asyncio.gather(*(one(p) for p in providers))
        if self.record and self.sent:
            await asyncio.to_thread(self.repository.add_many, self.sent)
        return list(results)
