"""The monthly plan: how each provider's month of calls is spent, recomputed on every question.

For a provider with a monthly quota Q the plan aims at `target * Q` by month's end. Client
requests come first: the rest of the month is projected to bring them at least their reserve
(`client_reserve * Q` a month) or, after a burst, the rate they have shown so far this month.
What remains is the background allowance for the rest of the month, shared by the jobs that
use the provider: health probes and discovery get at most `PROBE_SHARE` of it, collectors
the rest. A job whose demand at its base interval fits runs at that interval;
otherwise every job is slowed by the same factor. A burst of client traffic therefore slows
background work for the rest of the month instead of letting the quota run out.

A provider without a monthly quota is planned from its rate limits: background work may use
`1 - reserve` of the tightest rate (the budget enforces the same share per call).

Jobs ask `due(job, provider)` before calling; the time a job last sent a provider a request
is in the ledger, so a restart does not reset the spacing. `calls_per_run` is learned from
what each run actually sent (a moving average), so a job that fetches 20 candles from a
provider in one run is spaced 20 times further apart than one call would be.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptoagg.core.limits import Priority
from cryptoagg.resilience.budget import RATE_RESERVE_SHARE, Budget

#: the most of a provider's background allowance health probes and discovery may spend
PROBE_SHARE = 0.05
#: weight of the newest run in `calls_per_run`
LEARNING = 0.3
DAY_S = 86400.0


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


@dataclass(frozen=True, slots=True)
class PlanPolicy:
    #: projected month-end use of a monthly quota the plan aims at (QUOTA_TARGET)
    target: float = 0.8
    #: share of a monthly quota kept for client requests (QUOTA_CLIENT_RESERVE)
    client_reserve: float = 0.25
    #: share of each rate budget background work leaves to clients (RATE_CLIENT_RESERVE)
    rate_reserve: float = RATE_RESERVE_SHARE


@dataclass(slots=True)
class Demand:
    """One background job's use of one provider."""

    job: str
    priority: Priority
    base_interval_s: float
    calls_per_run: float = 1.0
    runs: int = 0

    @property
    def rate(self) -> float:
        """Calls per second at the base interval."""
        return self.calls_per_run / self.base_interval_s


@dataclass(frozen=True, slots=True)
class JobPlan:
    job: str
    base_interval_s: float
    #: None: paused (nothing left of the allowance this month)
    interval_s: float | None
    calls_per_run: float


@dataclass(frozen=True, slots=True)
class ProviderPlan:
    provider: str
    monthly_quota: int | None
    used_this_month: int
    used_by_clients: int
    #: calls kept for client requests for the rest of the month
    client_reserve: int | None
    projected_month_end: int
    target: int | None
    exhausted: bool
    jobs: list[JobPlan]


@dataclass(slots=True)
class _Split:
    factor_collect: float
    factor_probe: float
    client_rest: float


@dataclass
class QuotaPlan:
    budgets: Mapping[str, Budget]
    wall: Callable[[], datetime]
    policy: PlanPolicy = field(default_factory=PlanPolicy)
    demands: dict[str, dict[str, Demand]] = field(default_factory=dict)

    # -- what the jobs tell it -------------------------------------------------------------

    def register(
        self, job: str, base_interval_s: float, providers: Iterable[str], priority: Priority
    ) -> None:
        for name in providers:
            if name in self.budgets:
                self.demands.setdefault(name, {})[job] = Demand(job, priority, base_interval_s)

    def observe(self, job: str, sent: Mapping[str, int]) -> None:
        """A run of `job` finished having sent these requests per provider."""
        for name, count in sent.items():
            demand = self.demands.get(name, {}).get(job)
            if demand is None or count <= 0:
                continue
            if demand.runs == 0:
                demand.calls_per_run = float(count)
            else:
                demand.calls_per_run += LEARNING * (count - demand.calls_per_run)
            demand.runs += 1

    # -- what it answers -------------------------------------------------------------------

    def interval_s(self, job: str, provider: str) -> float | None:
        """Seconds between two runs of `job` that call `provider` (None: paused)."""
        demand = self.demands.get(provider, {}).get(job)
        if demand is None:
            return None
        split = self._split(provider, self.wall())
        factor = (
            split.factor_collect if demand.priority is Priority.COLLECTOR else split.factor_probe
        )
        return None if factor <= 0 else demand.base_interval_s / min(1.0, factor)

    def due(self, job: str, provider: str, run_started: datetime | None = None) -> bool:
        """Whether `job` may call `provider` in its run that began at `run_started` (a call
        earlier in the same run keeps the provider due for the rest of it)."""
        demand = self.demands.get(provider, {}).get(job)
        if demand is None:
            return True  # not planned work (a client request, a CLI command)
        interval = self.interval_s(job, provider)
        if interval is None:
            return False
        budget = self.budgets[provider]
        last = budget.ledger.last_run(provider, job)
        if last is None or (run_started is not None and last >= run_started):
            return True
        # half a base interval of slack: a run that starts a moment early is not skipped
        elapsed = (self.wall() - last).total_seconds()
        return elapsed >= interval - demand.base_interval_s / 2

    def next_in_s(self, job: str, provider: str) -> float | None:
        interval = self.interval_s(job, provider)
        if interval is None:
            return None
        last = self.budgets[provider].ledger.last_run(provider, job)
        if last is None:
            return 0.0
        return max(0.0, interval - (self.wall() - last).total_seconds())

    def background_allowed(self, provider: str) -> bool:
        """False once a monthly quota's target is reached: the rest is the clients'."""
        budget = self.budgets[provider]
        monthly = budget.limits.monthly
        if monthly is None:
            return True
        return budget.used_this_month() < self.policy.target * monthly

    def provider_plan(self, provider: str) -> ProviderPlan:
        budget = self.budgets[provider]
        now = self.wall()
        split = self._split(provider, now)
        _, end = month_bounds(now)
        rest_s = max(0.0, (end - now).total_seconds())
        used = budget.used_this_month()
        jobs = []
        background_rate = 0.0
        for demand in self.demands.get(provider, {}).values():
            factor = (
                split.factor_collect
                if demand.priority is Priority.COLLECTOR
                else split.factor_probe
            )
            interval = None if factor <= 0 else demand.base_interval_s / min(1.0, factor)
            if interval is not None:
                background_rate += demand.calls_per_run / interval
            jobs.append(
                JobPlan(
                    demand.job, demand.base_interval_s, interval, round(demand.calls_per_run, 2)
                )
            )
        monthly = budget.limits.monthly
        projected = used + split.client_rest + background_rate * rest_s
        return ProviderPlan(
            provider=provider,
            monthly_quota=monthly,
            used_this_month=used,
            used_by_clients=budget.used_this_month("client"),
            client_reserve=None
            if monthly is None
            else round(min(split.client_rest, max(0, monthly - used))),
            projected_month_end=round(min(projected, monthly) if monthly else projected),
            target=None if monthly is None else math.floor(self.policy.target * monthly),
            exhausted=budget.quota_used_up(),
            jobs=sorted(jobs, key=lambda j: j.job),
        )

    def plans(self) -> list[ProviderPlan]:
        return [self.provider_plan(name) for name in self.budgets]

    # -- the arithmetic --------------------------------------------------------------------

    def _split(self, provider: str, now: datetime) -> _Split:
        budget = self.budgets[provider]
        demands = list(self.demands.get(provider, {}).values())
        collect = sum(d.rate for d in demands if d.priority is Priority.COLLECTOR)
        probe = sum(d.rate for d in demands if d.priority is not Priority.COLLECTOR)
        monthly = budget.limits.monthly
        if monthly is None:
            return self._rate_split(budget, collect, probe)
        start, end = month_bounds(now)
        month_s = (end - start).total_seconds()
        elapsed_s = max(0.0, (now - start).total_seconds())
        rest_s = max(0.0, month_s - elapsed_s)
        used = budget.used_this_month()
        client_rate = max(
            self.policy.client_reserve * monthly / month_s,
            budget.used_this_month("client") / max(elapsed_s, DAY_S),
        )
        client_rest = client_rate * rest_s
        allowance = max(0.0, self.policy.target * monthly - used - client_rest)
        if used >= monthly or rest_s <= 0:
            return _Split(0.0, 0.0, client_rest)
        return _Split(*_share(allowance, collect * rest_s, probe * rest_s), client_rest)

    def _rate_split(self, budget: Budget, collect: float, probe: float) -> _Split:
        capacity = min((r.rate / r.period_s for r in budget.rates), default=math.inf) * (
            1.0 - self.policy.rate_reserve
        )
        if math.isinf(capacity):
            return _Split(1.0, 1.0, 0.0)
        factors = _share(capacity, collect, probe)
        return _Split(*factors, 0.0)


def _share(allowance: float, collect: float, probe: float) -> tuple[float, float]:
    """Scale factors (1: fits at base intervals) for the collectors' and the probes'
    demands within `allowance`: probes get at most `PROBE_SHARE` of it, collectors the rest
    (and probes what collectors leave, within that cap)."""
    if allowance <= 0:
        return 0.0, 0.0
    probe_got = min(probe, PROBE_SHARE * allowance)
    collect_got = min(collect, allowance - probe_got)
    factor_collect = 1.0 if collect <= 0 else collect_got / collect
    factor_probe = 1.0 if probe <= 0 else probe_got / probe
    return factor_collect, factor_probe
