"""Supervised background jobs: tracked tasks, restarted with backoff, cancelled at shutdown.

A job is an async callable run every `interval_s`. A failure is logged and the job retries
after an exponential backoff (capped at its interval); it never kills the process, and no
task is ever fire-and-forget: `stop()` cancels and awaits every one.

Each run happens in a background call scope named after the job (collector priority, or
probe priority for the jobs in `probes`), so its upstream requests queue behind clients'
and are charged to the job; what a run sent is reported to `observe` (the monthly plan
learns each job's calls per run from it).

Before each run the job asks `gate` (the leader lock, `collectors/runner.py`): a process
that lost the lock must not write, so a job whose gate says no stops instead of running.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from cryptoagg.core.limits import Priority
from cryptoagg.resilience.scope import background

log = structlog.get_logger("cryptoagg.collectors")

Job = Callable[[], Awaitable[object]]
Observe = Callable[[str, Mapping[str, int]], None]
Gate = Callable[[], Awaitable[bool]]


@dataclass(slots=True)
class JobState:
    name: str
    interval_s: float
    runs: int = 0
    failures: int = 0
    last_run: datetime | None = None
    last_error: str | None = None
    started_at: datetime | None = None

    def lag_s(self, now: datetime) -> float:
        """Seconds past when the job should have completed its next run (0 when on time)."""
        since = self.last_run or self.started_at
        if since is None:
            return 0.0
        return max(0.0, (now - since).total_seconds() - self.interval_s)

    def behind(self, now: datetime) -> bool:
        """Two intervals without a successful run (a run may legitimately take a while)."""
        return self.lag_s(now) > self.interval_s


@dataclass
class Supervisor:
    clock: Callable[[], datetime]
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    max_backoff_s: float = 300.0
    observe: Observe | None = None
    #: jobs that run at probe priority (health checks); the rest are collectors
    probes: frozenset[str] = frozenset()
    #: seconds a job waits before its first run (health checks let the collectors' first
    #: round answer for the providers first, so they need no call of their own)
    first_delays: dict[str, float] = field(default_factory=dict)
    #: asked before each run; False stops the job (fencing: the leader lock is gone)
    gate: Gate | None = None
    jobs: dict[str, JobState] = field(default_factory=dict)
    _tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)

    def start(self, name: str, interval_s: float, job: Job) -> None:
        state = self.jobs.setdefault(name, JobState(name, interval_s))
        state.started_at = self.clock()
        self._tasks[name] = asyncio.create_task(self._loop(state, job), name=f"job:{name}")

    async def _loop(self, state: JobState, job: Job) -> None:
        backoff = 1.0
        if (delay := self.first_delays.get(state.name, 0.0)) > 0:
            await self.sleep(delay)
        while True:
            if self.gate is not None and not await self.gate():
                log.warning("job_fenced", job=state.name)
                return
            priority = Priority.PROBE if state.name in self.probes else Priority.COLLECTOR
            try:
                with background(state.name, priority, self.clock()) as run:
                    await job()
                if self.observe is not None:
                    self.observe(state.name, run.sent)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                state.failures += 1
                state.last_error = f"{type(exc).__name__}: {exc}"[:300]
                log.warning("job_failed", job=state.name, error=state.last_error, retry_s=backoff)
                await self.sleep(min(backoff, state.interval_s, self.max_backoff_s))
                backoff *= 2
                continue
            backoff = 1.0
            state.runs += 1
            state.last_run = self.clock()
            await self.sleep(state.interval_s)

    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._tasks.values())

    async def stop(self, *, forget: bool = False) -> None:
        """Cancel every job and wait for it; `forget` drops their state too (a process that
        stepped down reports no jobs, like any process that does not lead)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if forget:
            self.jobs.clear()
