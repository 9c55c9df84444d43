"""The state of the guards several replicas share through Redis, put together.

`Guards` (resilience/guard.py) sees one object: `attach` gives each budget its send gate
(`SharedBudgets`) and registers its breaker (`SharedBreakers`); `tripped` shares a breaker's
deadline. `sync` (periodic, every REDIS_SYNC_S) adds pending local counts (refunds) and
reads the totals, last runs and cool-downs the other replicas wrote; `rejoin` (the link's
callback after Redis comes back, before it is used again) adds what was spent locally while
Redis was away, exactly once, then syncs. With Redis away each replica runs on its local
budgets, ledger and breakers alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from redis.asyncio import Redis

from cryptoagg.resilience.budget import SendGate
from cryptoagg.resilience.guard import Guard
from cryptoagg.resilience.redis_link import RedisLink
from cryptoagg.resilience.shared_breaker import SharedBreakers
from cryptoagg.resilience.shared_budget import SharedBudgets
from cryptoagg.resilience.shared_ledger import SharedLedger


class SharedGuards:
    def __init__(
        self,
        link: RedisLink,
        ledger: SharedLedger,
        *,
        mode: str,
        clock: Callable[[], float],
        wall: Callable[[], datetime],
        ceiling_share: float,
        disable_s: float,
    ) -> None:
        """`mode` keeps the live and the mock state apart ("live", "mock"); `ceiling_share`
        is the plan's target (background work stops at that share of a monthly quota);
        `disable_s` how long other replicas keep off a provider one replica disabled."""
        self.link = link
        self.ledger = ledger
        self.budgets = SharedBudgets(
            link,
            ledger,
            mode=mode,
            wall=wall,
            clock=clock,
            ceiling_share=ceiling_share,
            on_cool=self._hold,
        )
        self.breakers = SharedBreakers(link, self.budgets.key, disable_s=disable_s)
        link.on_rejoin(self.rejoin)

    def _hold(self, provider: str, seconds: float, reason: str) -> None:
        self.breakers.hold(provider, seconds, reason)

    def attach(self, guard: Guard) -> SendGate:
        self.budgets.budgets[guard.name] = guard.budget
        self.breakers.breakers[guard.name] = guard.breaker
        return self.budgets

    async def tripped(self, guard: Guard) -> None:
        await self.breakers.tripped(guard.name)

    async def start(self) -> None:
        """At start-up, when the link is already up (its first connection ran before this
        object registered for rejoins): the same exchange as a rejoin."""
        await self.link.run(self._rejoin, _nothing)

    async def rejoin(self) -> None:
        """Redis is back (or reached for the first time): add what was counted here while it
        was away, offer this replica's month where Redis has none, then read the rest.
        Connection errors propagate: the link tries again later, with the same batch."""
        await self._rejoin(self.link.client)

    async def _rejoin(self, client: Redis) -> None:
        await self.budgets.reconcile(client, seed=True)
        await self._read(client)

    async def sync(self) -> None:
        """The periodic exchange while Redis is up (nothing while it is away)."""
        await self.link.run(self._sync, _nothing)

    async def _sync(self, client: Redis) -> None:
        if self.ledger.inflight is not None or self.ledger.pending:
            await self.budgets.reconcile(client, seed=False)
        await self._read(client)

    async def _read(self, client: Redis) -> None:
        await self.budgets.refresh(client)
        await self.breakers.refresh(client)


def _nothing() -> None:
    return None
