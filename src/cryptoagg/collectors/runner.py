"""Runs the collectors in the one process that holds the leader lock."""

from __future__ import annotations

import asyncio
import contextlib
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
    election_interval_s: float = 15.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    is_leader: bool = False
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    def start(self) -> None:
        self._task = asyncio.create_task(self._elect(), name="collector-election")

    async def _elect(self) -> None:
        while not self.is_leader:
            acquired = await asyncio.to_thread(self.lock.try_acquire)
            if acquired:
                self.is_leader = True
                log.info("collector_leader", jobs=[name for name, _, _ in self.jobs])
                for name, interval_s, job in self.jobs:
                    self.supervisor.start(name, interval_s, job)
                return
            await self.sleep(self.election_interval_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.supervisor.stop()
        if self.is_leader:
            await asyncio.to_thread(self.lock.release)
            self.is_leader = False
