"""Per-client rate limit (RATE_LIMIT_PER_MIN, RATE_LIMIT_BURST); `RequestLimits` answers 429
with `Retry-After` when `acquire` says to wait.

One GCRA cell (`resilience.budget.Gcra`: one number per client) per client address; IPv6
clients are grouped by /64, the block one subscriber usually gets. Memory is bounded: cells
are kept in least-recently-seen order, idle ones (whose allowance has fully refilled, so they
hold no information) are dropped from the front as new clients arrive, and past `max_clients`
the least recently seen goes first.

`/health` and `/metrics` are exempt: they are cheap, spend no upstream budget, and probes
and scrapers must not be refused when one client floods the API.

A WebSocket upgrade spends from the same cell as a request, and `ClientConnections` caps the
connections one client holds at once (WS_MAX_PER_CLIENT), so one address can neither churn
upgrades nor take every one of WS_MAX_CONNECTIONS.

Several replicas (REDIS_URL): each replica still admits by its own cell, at once (no Redis
round trip on a request), and `share_limits` adds what it admitted to a shared per-minute
window every SHARE_S (`resilience/shared_window.py`). A client whose total over the replicas
passes a minute's allowance (RATE_LIMIT_PER_MIN + RATE_LIMIT_BURST) is refused on every
replica until the window ends; a client spread over N replicas can overshoot by at most what
N replicas admit in SHARE_S. Redis down: each replica's own limit holds, as with one process.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable

from cryptoagg.resilience.budget import Gcra
from cryptoagg.resilience.shared_window import SharedWindows

EXEMPT_PATHS = frozenset({"/health", "/metrics"})
MAX_CLIENTS = 100_000
#: how often a replica adds what it admitted to the shared windows
SHARE_S = 1.0


def client_key(address: str) -> str:
    """The bucket of an address: itself, or its /64 for IPv6."""
    if ":" not in address:  # IPv4 as the socket reports it: already canonical
        return address
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class ClientRateLimiter:
    def __init__(
        self,
        per_min: int,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.per_min = per_min
        self.burst = burst
        self.clock = clock
        self.max_clients = max_clients
        self._cells: OrderedDict[str, Gcra] = OrderedDict()
        #: while shared (`share_limits` runs): admitted since the last share, and clients
        #: refused on every replica until a monotonic time
        self.sharing = False
        self._admitted: Counter[str] = Counter()
        self._blocked: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._cells)

    def acquire(self, client: str) -> float:
        """Spend one request of `client`: 0 when allowed, else seconds until one conforms."""
        now = self.clock()
        until = self._blocked.get(client)
        if until is not None:
            if now < until:
                return until - now
            del self._blocked[client]
        cell = self._cells.get(client)
        if cell is None:
            self._evict(now)
            cell = self._cells[client] = Gcra(self.per_min, 60.0, self.burst)
        else:
            self._cells.move_to_end(client)
        wait = cell.wait_s(now)
        if wait > 0:
            return wait
        cell.spend(now)
        if self.sharing:
            self._admitted[client] += 1
        return 0.0

    async def share(self, windows: SharedWindows) -> None:
        """Add what this replica admitted since the last call to the shared window, and
        refuse, until the window ends, every client whose total passes the allowance."""
        admitted, self._admitted = self._admitted, Counter()
        totals = await windows.add(admitted)
        now = self.clock()
        self._blocked = {c: t for c, t in self._blocked.items() if t > now}
        if not totals:  # nothing admitted, or Redis down: this replica's own limit holds
            return
        allowance = self.per_min * windows.window_s / 60 + self.burst
        until = now + windows.left_s()
        for client, total in totals.items():
            if total > allowance:
                self._blocked[client] = until

    def _evict(self, now: float) -> None:
        while self._cells:
            oldest = next(iter(self._cells.values()))
            if len(self._cells) < self.max_clients and oldest.tat > now:
                return
            self._cells.popitem(last=False)


class ClientConnections:
    """Open connections per client (same keys as the rate limit); a client at `per_client`
    gets no more. Holds an entry only while the client has a connection open."""

    def __init__(self, per_client: int) -> None:
        self.per_client = per_client
        self._open: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._open)

    def held(self, client: str) -> int:
        return self._open.get(client, 0)

    def open(self, client: str) -> bool:
        """Count a new connection of `client`; False (and nothing counted) at the cap."""
        held = self._open.get(client, 0)
        if held >= self.per_client:
            return False
        self._open[client] = held + 1
        return True

    def close(self, client: str) -> None:
        held = self._open.get(client, 0) - 1
        if held > 0:
            self._open[client] = held
        else:
            self._open.pop(client, None)


async def share_limits(
    limiter: ClientRateLimiter,
    windows: SharedWindows,
    every_s: float = SHARE_S,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Share `limiter` with the other replicas until cancelled (see the module docstring)."""
    limiter.sharing = True
    try:
        while True:
            await sleep(every_s)
            await limiter.share(windows)
    finally:
        limiter.sharing = False
