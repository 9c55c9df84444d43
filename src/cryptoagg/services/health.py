"""The service's own health (`GET /health`): healthy, degraded or unhealthy, and the checks
behind the verdict: the database, the background jobs, the providers and, with REDIS_URL, the
link to the state shared with the other replicas.

The verdict is decided here, once: `unhealthy` when the database is unreachable or every
enabled provider is failing; `degraded` when some providers are failing, a collector job is
behind or Redis is down (the replica serves from its own state); else `healthy`. The
collectors are a layer above the services, so their state comes in as a `CollectorsReport`
the composition root reads from them (`bootstrap/collectors.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Engine

from cryptoagg.resilience.redis_link import LinkReading
from cryptoagg.services.status import StatusService
from cryptoagg.storage.db import database_ok

#: provider states that count as failing for the verdict
FAILING_STATES = frozenset({"failing", "open", "half_open"})

Verdict = Literal["healthy", "degraded", "unhealthy"]


@dataclass(frozen=True, slots=True)
class JobReport:
    """One background job as its supervisor last saw it."""

    interval_s: float
    runs: int
    failures: int
    last_run: datetime | None
    #: seconds behind: since its last successful run (or its start), minus its interval
    lag_s: float
    last_error: str | None
    behind: bool


@dataclass(frozen=True, slots=True)
class CollectorsReport:
    """The background jobs of this process: none when COLLECTORS is off; only the leader
    collects, the others stand by for the leader lock."""

    enabled: bool
    leader: bool
    #: by job name, sorted
    jobs: dict[str, JobReport]
    #: the leader lock: "postgresql" (advisory), "file" or "redis"
    lock: str | None = None
    #: how many times this process has become the leader
    terms: int = 0
    #: seconds this process has been the leader (None: it is not)
    leader_for_s: float | None = None
    #: the current term's fencing token (a Redis lease's; None where the database fences)
    fencing_token: int | None = None

    @property
    def behind(self) -> list[str]:
        """The jobs running late, sorted."""
        return sorted(name for name, job in self.jobs.items() if job.behind)


NO_COLLECTORS = CollectorsReport(enabled=False, leader=False, jobs={})


@dataclass(frozen=True, slots=True)
class ProvidersReport:
    enabled: int
    failing: list[str]
    #: disabled providers and why
    disabled: dict[str, str | None]
    last_success: dict[str, datetime | None]


@dataclass(frozen=True, slots=True)
class HealthReport:
    status: Verdict
    #: serving from the built-in simulator (USE_MOCK_DATA)
    mock: bool
    database_ok: bool
    dialect: str
    collectors: CollectorsReport
    providers: ProvidersReport
    #: the Redis link (None: REDIS_URL unset, nothing is shared)
    redis: LinkReading | None = None


class ServiceHealth:
    def __init__(
        self,
        status: StatusService,
        engine: Engine,
        collectors: Callable[[], CollectorsReport],
        *,
        mock: bool,
        redis: Callable[[], LinkReading] | None = None,
    ) -> None:
        self.status = status
        self.engine = engine
        self.collectors = collectors
        self.mock = mock
        self.redis = redis

    async def check(self) -> HealthReport:
        """Every check now: a database round trip (in a thread), the providers' states and
        the jobs' lag, from memory."""
        database = await asyncio.to_thread(database_ok, self.engine)
        rows = self.status.providers_status()
        enabled = [r for r in rows if r.enabled]
        failing = [r.name for r in enabled if r.state in FAILING_STATES]
        collectors = self.collectors()
        redis = self.redis() if self.redis is not None else None
        status: Verdict
        if not database or (enabled and len(failing) == len(enabled)):
            status = "unhealthy"
        elif failing or collectors.behind or (redis is not None and not redis.up):
            status = "degraded"
        else:
            status = "healthy"
        return HealthReport(
            status=status,
            mock=self.mock,
            database_ok=database,
            dialect=self.engine.dialect.name,
            collectors=collectors,
            providers=ProvidersReport(
                enabled=len(enabled),
                failing=failing,
                disabled={r.name: r.disabled_reason for r in rows if not r.enabled},
                last_success={r.name: r.last_success for r in enabled},
            ),
            redis=redis,
        )
