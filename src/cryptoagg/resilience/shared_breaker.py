"""Breaker deadlines shared by every replica (REDIS_URL set).

The breaker logic stays local (`resilience/breaker.py`); what replicas share is the deadline:
when this replica's breaker opens (a `Retry-After`, a run of failures) or disables the
provider (auth, geo-block), it writes a cool-down key that expires then, with the reason.
Every replica then keeps away: the send gate script refuses while the key lives (exact, at
no extra round trip), and the periodic sync holds the local breakers open until it expires,
so they refuse at admission without asking Redis. A disabled provider is held for
`disable_s` on the other replicas (they try again after it, and disable it themselves if it
still refuses them).
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from redis.asyncio import Redis

from cryptoagg.resilience.breaker import CircuitBreaker, State
from cryptoagg.resilience.redis_link import RedisLink
from cryptoagg.resilience.shared_scripts import COOL

log = structlog.get_logger("cryptoagg.breaker")

#: a provider's key: (provider, *parts) -> Redis key
KeyFor = Callable[..., str]


class SharedBreakers:
    def __init__(self, link: RedisLink, key: KeyFor, *, disable_s: float) -> None:
        self.link = link
        self.key = key
        self.disable_s = disable_s
        self.breakers: dict[str, CircuitBreaker] = {}
        self._cool = link.script(COOL)

    def hold(self, provider: str, seconds: float, reason: str) -> None:
        """Another replica keeps away from `provider` for `seconds`: so does this one."""
        breaker = self.breakers.get(provider)
        if breaker is not None and breaker.hold(seconds, f"{reason} (shared)"):
            log.info("breaker_held", provider=provider, seconds=round(seconds, 3), reason=reason)

    async def tripped(self, provider: str) -> None:
        """This replica's breaker of `provider` just opened or disabled it: share the
        deadline (Redis away: nothing to share, each replica learns for itself)."""
        breaker = self.breakers.get(provider)
        if breaker is None:
            return
        if breaker.state is State.OPEN:
            seconds = breaker.opened_until - breaker.clock()
            reason = breaker.why
        elif breaker.state is State.DISABLED:
            seconds = self.disable_s
            reason = f"disabled, {breaker.reason or breaker.why}"
        else:
            return
        ms = int(seconds * 1000)
        if ms <= 0:
            return
        keys = [self.key(provider, "cool")]

        async def op(client: Redis) -> None:
            await self._cool(keys=keys, args=[ms, reason], client=client)

        await self.link.run(op, _nothing)

    async def refresh(self, client: Redis) -> None:
        """Hold every local breaker whose provider another replica keeps away from."""
        names = sorted(self.breakers)
        async with client.pipeline(transaction=False) as pipe:
            for provider in names:
                pipe.pttl(self.key(provider, "cool"))
                pipe.hget(self.key(provider, "cool"), "reason")
            replies = await pipe.execute()
        for index, provider in enumerate(names):
            ms, reason = replies[2 * index], replies[2 * index + 1]
            if isinstance(ms, int) and ms > 0:
                text = reason.decode() if isinstance(reason, bytes) else "cooling down"
                self.hold(provider, ms / 1000, text)


def _nothing() -> None:
    return None
