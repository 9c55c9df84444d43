"""CPU-heavy work kept from starving the event loop: one shared limiter, one budget per client.

Sentiment scoring and analysis indicators are pure Python. In a worker thread they stay off
the event loop but not off the interpreter lock: every thread running them takes the lock in
turn with the loop, and before this limiter they ran on the default executor, whose queue the
database calls of every request (`/health`'s included) wait in too. One client sending
10 maximum-size sentiment requests a second, within the rate limit, kept that queue growing:
`/health` went from ~5 ms to seconds (issue 13: p50 0.62 s, max 11 s; `bench/cpu_abuse.py`).

- `CpuLimiter`: CPU work runs on `workers` threads of its own (never the default executor);
  a job holds a slot from its first chunk to its last, at most `queue` jobs wait for one
  (first come, first served), and a job beyond that is refused (`CpuBusy`, 503 with a
  `Retry-After` estimated from the recent job durations). A job may run as chunks
  (`CpuSlot.run`, one executor call each), so a cancelled caller (the request deadline)
  stops after the current one. A cancelled caller keeps its slot until the thread it
  started has finished: a thread cannot be stopped, and freeing the slot early would let
  threads pile up. With one worker busy all the time, the loop waits at most about one
  switch interval (`sys.getswitchinterval()`, 5 ms) each time it needs the interpreter lock.
- `ClientCostBudget`: what one client may spend per minute, in a cost unit of the caller's
  (characters of text for sentiment), with a burst; refused with the seconds until it fits
  (`CostExceeded`, 429). One GCRA number per client, idle clients dropped first, at most
  `max_clients` kept, as in the request rate limit (`api/http/ratelimit.py`).

Both take an injected clock; tests advance a fake one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, TypeVar

from cryptoagg.core.errors import CostExceeded, CpuBusy

T = TypeVar("T")
Clock = Callable[[], float]

#: the job duration assumed before any job has finished (for Retry-After)
FIRST_JOB_S = 0.5
#: weight of the newest job in the moving average of job durations
JOB_EWMA = 0.2
#: clients whose budgets are kept at most (as `api/http/ratelimit.py::MAX_CLIENTS`)
MAX_CLIENTS = 100_000


class CpuSlot:
    """A job's hold on one worker: its chunks run one after the other on the limiter's
    threads, and the loop gets the interpreter lock back between any two of them."""

    def __init__(self, executor: Executor) -> None:
        self._executor = executor
        #: the chunk running in a thread, if any (it outlives a cancelled caller)
        self.pending: asyncio.Future[Any] | None = None

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """`fn(*args)` in a worker thread. A cancelled caller stops waiting; the thread
        finishes its chunk and the slot stays taken until it has."""
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, fn, *args)
        self.pending = future
        # shielded: cancelling the caller must not mark the thread's future done while the
        # thread still runs (the slot is released from its done callback)
        result = await asyncio.shield(future)
        self.pending = None
        return result


class CpuLimiter:
    """At most `workers` CPU jobs run at once, on threads of their own; at most `queue` more
    wait (FIFO); beyond, `CpuBusy`."""

    def __init__(
        self,
        workers: int,
        queue: int,
        *,
        clock: Clock = time.monotonic,
        executor: Executor | None = None,
    ) -> None:
        if workers < 1 or queue < 0:
            raise ValueError("workers >= 1 and queue >= 0")
        self.workers = workers
        self.queue = queue
        self.clock = clock
        self._executor = executor or ThreadPoolExecutor(workers, thread_name_prefix="cpu-work")
        self._own_executor = executor is None
        self._running = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        #: moving average of how long a job holds its slot (seconds)
        self.job_s = FIRST_JOB_S
        #: jobs refused because the queue was full (since start)
        self.refused = 0
        #: jobs that ran (since start)
        self.completed = 0

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def retry_after_s(self) -> float:
        """When a slot is likely to be free for a new job: the jobs ahead of it (running and
        waiting) times the recent job duration, shared by the workers."""
        ahead = self._running + self.waiting
        return ahead * self.job_s / self.workers

    @contextlib.asynccontextmanager
    async def slot(self, *, refuse_when_full: bool = True) -> AsyncIterator[CpuSlot]:
        """Hold one worker for a job (its chunks run through the yielded `CpuSlot`).
        `refuse_when_full=False`: wait however long the queue is, for callers that cannot
        answer a refusal; the request deadline still bounds the wait."""
        await self._acquire(refuse_when_full)
        started = self.clock()
        slot = CpuSlot(self._executor)
        try:
            yield slot
        finally:
            pending = slot.pending
            if pending is not None and not pending.done():
                pending.add_done_callback(lambda _: self._release(started))
            else:
                self._release(started)

    async def run(self, fn: Callable[..., T], *args: object, refuse_when_full: bool = True) -> T:
        """One call as one job."""
        async with self.slot(refuse_when_full=refuse_when_full) as slot:
            return await slot.run(fn, *args)

    async def _acquire(self, refuse_when_full: bool) -> None:
        if self._running < self.workers and not self.waiting:
            self._running += 1
            return
        if refuse_when_full and self.waiting >= self.queue:
            self.refused += 1
            raise CpuBusy(
                f"busy: {self.workers} CPU worker(s) and a queue of {self.queue} are taken; "
                "try again later",
                self.retry_after_s(),
            )
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release(None)  # handed the slot as we were cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def _release(self, started: float | None) -> None:
        if started is not None:
            self.completed += 1
            held = max(0.0, self.clock() - started)
            self.job_s += JOB_EWMA * (held - self.job_s)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes on; `_running` is unchanged
                return
        self._running -= 1

    async def aclose(self) -> None:
        """Drop queued chunks and wait for the running ones (a chunk is short)."""
        if self._own_executor:
            await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)


class ClientCostBudget:
    """`per_min` cost units per client per minute, with bursts up to `burst` units (GCRA).
    A cost larger than the burst passes only when the client owes nothing, so a request the
    other limits allow is never refused forever."""

    def __init__(
        self,
        per_min: float,
        burst: float,
        *,
        unit: str = "units",
        clock: Clock = time.monotonic,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        if per_min <= 0 or burst <= 0:
            raise ValueError("per_min and burst must be positive")
        self.per_min = per_min
        self.burst = burst
        self.unit = unit
        self.clock = clock
        self.max_clients = max_clients
        self._seconds_per_unit = 60.0 / per_min
        #: client -> theoretical arrival time: when everything it spent has refilled
        self._tats: OrderedDict[str, float] = OrderedDict()
        #: requests refused (since start)
        self.refused = 0

    def __len__(self) -> int:
        return len(self._tats)

    def wait_s(self, client: str, cost: float) -> float:
        """Seconds until `client` may spend `cost` (0: now)."""
        now = self.clock()
        tat = max(self._tats.get(client, now), now)
        owed = tat - now
        over = owed + cost * self._seconds_per_unit - self.burst * self._seconds_per_unit
        return max(0.0, min(over, owed))

    def spend(self, client: str, cost: float) -> None:
        """Spend `cost` of `client`'s budget, or raise `CostExceeded`."""
        wait = self.wait_s(client, cost)
        if wait > 0:
            self.refused += 1
            raise CostExceeded(
                f"cost budget spent: at most {self.per_min:,.0f} {self.unit} per minute per "
                f"client (bursts of {self.burst:,.0f}); {cost:,.0f} asked",
                wait,
            )
        now = self.clock()
        if client in self._tats:
            self._tats.move_to_end(client)
        else:
            self._evict(now)
        self._tats[client] = max(self._tats.get(client, now), now) + cost * self._seconds_per_unit

    def refund(self, client: str, cost: float) -> None:
        """Give back `cost` spent for work that was not done."""
        if client in self._tats:
            self._tats[client] -= cost * self._seconds_per_unit

    def _evict(self, now: float) -> None:
        while self._tats:
            oldest = next(iter(self._tats.values()))
            if len(self._tats) < self.max_clients and oldest > now:
                return
            self._tats.popitem(last=False)
