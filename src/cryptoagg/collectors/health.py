"""Provider health checks: one cheap real call per enabled provider every `COLLECT_HEALTH_S`.

A check is the provider's probe (`services/probes.py`), sent as one guarded call
(`GuardedCalls`, the pools' path): the request it sends spends
the provider's budget, and its outcome feeds the breaker and the health book. When the
budget says no, the check is recorded as `skipped` (not a failure); when the breaker holds
the provider back (open, or disabled after an auth failure or geo-block), no call goes out
and the check counts as failed (`held_back`) — a half-open breaker lets the check through
as its probe. Providers disabled by configuration or lacking a key are not checked. Each
check writes a `status_log` row, a `response_times` row when a call went out, and feeds the
incident state machine.

Checks spend no quota that real traffic already answers for: a provider that served or failed
a real call since the previous check is judged by that (`passive`, no call). Probes run at
probe priority and are paced by the monthly plan (`resilience.plan`): a provider with a
monthly quota is probed only as often as its plan allows (`skipped: plan: …` otherwise), so
checks never starve the API or the collectors.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import structlog

from cryptoagg.core.assets import AssetRegistry
from cryptoagg.core.errors import BudgetExhausted, ProviderError
from cryptoagg.core.limits import Priority
from cryptoagg.core.ports import Provider
from cryptoagg.resilience.guard import GuardedCalls, Guards
from cryptoagg.resilience.health import HealthBook
from cryptoagg.resilience.scope import background
from cryptoagg.services.incidents import Check, IncidentService
from cryptoagg.services.probes import JOB, Refused, probe_for, send
from cryptoagg.storage.monitoring import (
    CheckRecord,
    CheckState,
    ResponseTimeRecord,
    ResponseTimeRepository,
    StatusLogRepository,
)

log = structlog.get_logger("cryptoagg.collectors")


@dataclass(frozen=True, slots=True)
class Outcome:
    record: CheckRecord
    timing: ResponseTimeRecord | None


class HealthChecks:
    """The `health` collector job; returns how many providers were checked."""

    def __init__(
        self,
        providers: Sequence[Provider],
        *,
        registry: AssetRegistry,
        guards: Guards,
        health: HealthBook,
        status_log: StatusLogRepository,
        response_times: ResponseTimeRepository,
        incidents: IncidentService,
        clock: Callable[[], datetime],
        timeout_s: float = 10.0,
        interval_s: float = 60.0,
    ) -> None:
        self.providers = providers
        self.registry = registry
        self.guards = guards
        self.health = health
        self.status_log = status_log
        self.response_times = response_times
        self.incidents = incidents
        self.clock = clock
        self.timeout_s = timeout_s
        self.interval_s = interval_s
        self.calls = GuardedCalls(guards, health, random.Random())  # noqa: S311 - jitter
        #: when the health book last heard of each provider's probe (older observations
        #: are the probe's own, not traffic's)
        self._own_observation: dict[str, datetime] = {}

    async def __call__(self) -> int:
        if not self.incidents.restored:
            await self.incidents.restore()
        checked = [p for p in self.providers if p.disabled_reason is None]
        with background(JOB, Priority.PROBE, self.clock()):
            outcomes = await asyncio.gather(*(self.check(p) for p in checked))
        done = [o for o in outcomes if o is not None]
        await asyncio.to_thread(self.status_log.add_many, [o.record for o in done])
        timings = [o.timing for o in done if o.timing is not None]
        await asyncio.to_thread(self.response_times.add_many, timings)
        for o in done:
            if o.record.state is not CheckState.SKIPPED:
                r = o.record
                try:
                    await self.incidents.record(Check(r.provider, r.ok, r.at, r.reason))
                except Exception as exc:
                    # the machine rolled back; the next check decides again
                    error = f"{type(exc).__name__}: {exc}"[:300]
                    log.warning("incident_record_failed", provider=r.provider, error=error)
        by_state: dict[str, list[str]] = {}
        for o in done:
            by_state.setdefault(o.record.state.value, []).append(o.record.provider)
        log.info(
            "health_checked",
            checked=len(done),
            down=by_state.get(CheckState.DOWN.value, []),
            held_back=by_state.get(CheckState.HELD_BACK.value, []),
            skipped=by_state.get(CheckState.SKIPPED.value, []),
        )
        return len(done)

    async def check(self, provider: Provider) -> Outcome | None:
        probe = probe_for(provider, self.registry)
        if probe is None or provider.name not in self.guards:
            return None
        at = self.clock()
        without_call = self._without_call(provider, at)
        if without_call is not None:
            return Outcome(without_call, None)
        sent = await send(self.calls, provider, probe, self.timeout_s)
        if isinstance(sent, Refused):
            if isinstance(sent.error, BudgetExhausted):
                return Outcome(self._row(at, provider, CheckState.SKIPPED, sent.error), None)
            return Outcome(self._held_back(at, provider, sent.error), None)
        self._own_observation[provider.name] = self.health.now()
        state = CheckState.UP if sent.ok else CheckState.DOWN
        record = self._row(at, provider, state, None if sent.ok else sent.error, sent.latency_ms)
        timing = ResponseTimeRecord(at, provider.name, probe.endpoint, sent.latency_ms, sent.ok)
        return Outcome(record, timing)

    def _without_call(self, provider: Provider, at: datetime) -> CheckRecord | None:
        """The check's verdict when no call should go out: real traffic already showed it,
        or the monthly plan says this provider's next probe is not due yet."""
        observed = self._observed(provider, at)
        if observed is not None:
            return observed
        planned = self.guards.admits(provider.name)
        if planned is not None:
            return CheckRecord(at, provider.name, False, CheckState.SKIPPED, planned)
        return None

    def _held_back(self, at: datetime, provider: Provider, refusal: ProviderError) -> CheckRecord:
        """The breaker holds the provider back: say why it is open, not only that it is."""
        row = self._row(at, provider, CheckState.HELD_BACK, refusal)
        last = self.health.get(provider.name)
        if last.last_error_reason is not None and row.reason is not None:
            why = f"{row.reason}; last error {last.last_error_reason}: {last.last_error}"
            row = replace(row, reason=why[:500])
        return row

    def _observed(self, provider: Provider, at: datetime) -> CheckRecord | None:
        """What real traffic showed since the previous check, if it showed anything."""
        h = self.health.get(provider.name)
        own = self._own_observation.get(provider.name)

        def age(seen: datetime | None) -> float:
            if seen is None or (own is not None and seen <= own):
                return math.inf  # nothing seen, or only this collector's own probe
            return (at - seen).total_seconds()

        ok_age, error_age = age(h.last_success), age(h.last_error_at)
        if min(ok_age, error_age) >= self.interval_s:
            return None
        if ok_age <= error_age:
            return CheckRecord(at, provider.name, True, CheckState.PASSIVE_UP, None)
        reason = f"{h.last_error_reason}: {h.last_error}"[:500]
        return CheckRecord(at, provider.name, False, CheckState.PASSIVE_DOWN, reason)

    @staticmethod
    def _row(
        at: datetime,
        provider: Provider,
        state: CheckState,
        error: ProviderError | None,
        latency_ms: float | None = None,
    ) -> CheckRecord:
        reason = f"{error.reason}: {error.detail}"[:500] if error is not None else None
        return CheckRecord(at, provider.name, state is CheckState.UP, state, reason, latency_ms)
