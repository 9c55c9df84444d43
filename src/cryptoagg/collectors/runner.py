"""Runs the collectors in the one process that holds the leader lock, and stops them the
moment it no longer does.

A follower tries the lock every `retry_s` (LEADER_RETRY_S). The leader asks whether the lock
is still its own every `check_s` (LEADER_LEASE_S / 3; for a Redis lease this is the renewal)
and before each job run (the supervisor's gate). When the answer is no, an error, or no
answer within `timeout_s`, it stops every job (cancelling runs in flight), releases what is
left of the lock and goes back to trying like any follower. So after the leader dies another
process collects within `retry_s` (PostgreSQL, file: the lock is free at once) or
LEADER_LEASE_S + `retry_s` (Redis: the lease must run out first), and a leader cut off from
its lock writes nothing after its next check.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog

from cryptoagg.collectors.leader import LeaderLock
from cryptoagg.collectors.supervisor import Job, Supervisor

log = structlog.get_logger("cryptoagg.collectors")


@dataclass
class Collectors:
    lock: LeaderLock
    supervisor: Supervisor
    jobs: list[tuple[str, float, Job]]
    #: a follower tries the lock this often
    retry_s: float = 15.0
    #: the leader checks (renews) its lock this often
    check_s: float = 5.0
    #: a lock question not answered within this counts as "not ours"
    timeout_s: float = 5.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    #: monotonic seconds, for `leader_since`
    clock: Callable[[], float] = time.monotonic
    is_leader: bool = False
    #: times this process became the leader, and times it lost the lock while leading
    terms: int = 0
    losses: int = 0
    leader_since: float | None = None
    _task: asyncio.Task[None] | None = field(default=None, repr=False)
    _lost: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    #: one lock question at a time (a database lock's connection serves one thread)
    _asking: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    def start(self) -> None:
        self.supervisor.gate = self._gate
        self._task = asyncio.create_task(self._run(), name="collector-election")

    async def _run(self) -> None:
        while True:
            if await self._ask("acquire", self.lock.try_acquire):
                self._lead()
                await self._watch()
                await self._step_down()
            # after a loss too: the others get their turn before this process tries again
            await self.sleep(self.retry_s)

    def _lead(self) -> None:
        self.is_leader = True
        self.terms += 1
        self.leader_since = self.clock()
        self._lost.clear()
        names = [name for name, _, _ in self.jobs]
        log.info("collector_leader", jobs=names, term=self.terms, token=self.lock.token)
        for name, interval_s, job in self.jobs:
            self.supervisor.start(name, interval_s, job)

    async def _watch(self) -> None:
        """Returns when the lock is no longer ours (a check, or a job's gate, said so)."""
        while True:
            await self.sleep(self.check_s)
            if self._lost.is_set() or not await self._ask("check", self.lock.held):
                return

    async def _step_down(self) -> None:
        """Stop writing first (the jobs, runs in flight included), then let the lock go."""
        self.losses += 1
        log.warning("collector_leader_lost", term=self.terms, token=self.lock.token)
        self.is_leader = False
        self.leader_since = None
        await self.supervisor.stop(forget=True)
        await self._ask("release", self._release)

    async def _release(self) -> bool:
        await self.lock.release()
        return True

    async def _gate(self) -> bool:
        """Asked by each job before it runs: is the lock still ours?"""
        if not self.is_leader or self._lost.is_set():
            return False
        if await self._ask("check", self.lock.held):
            return True
        self._lost.set()
        return False

    async def _ask(self, what: str, question: Callable[[], Awaitable[bool]]) -> bool:
        """The lock's answer, or False when it fails or is late (a database or Redis that
        does not answer cannot vouch for the lock)."""
        async with self._asking:
            try:
                async with asyncio.timeout(self.timeout_s):
                    return await question()
            except TimeoutError:
                log.warning("leader_lock_timeout", question=what, timeout_s=self.timeout_s)
            except Exception as exc:
                log.warning("leader_lock_failed", question=what, error=type(exc).__name__)
            return False

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.supervisor.stop()
        if self.is_leader:
            self.is_leader = False
            await self._ask("release", self._release)
