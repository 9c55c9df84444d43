"""Counts per key in fixed windows the replicas share (REDIS_URL): one INCRBY per key and
window, the key expiring two windows later. `add` answers each key's total over every replica
in the current window, or None while Redis is down (the caller keeps its own counts).

Used by the inbound rate limit (`api/http/ratelimit.py::share_limits`): each replica admits by
its own cell at once and adds what it admitted every second; a client whose total over the
replicas passes its allowance is refused on every replica until the window ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from redis.asyncio import Redis

from cryptoagg.resilience.redis_link import RedisLink


class SharedWindows:
    def __init__(
        self,
        link: RedisLink,
        name: str,
        window_s: float = 60.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.link = link
        self.name = name
        self.window_s = window_s
        self.wall = wall

    def left_s(self) -> float:
        """Seconds until the current window ends."""
        return self.window_s - self.wall() % self.window_s

    async def add(self, counts: Mapping[str, int]) -> dict[str, int] | None:
        """Add `counts` to the current window; every key's total in it (None: Redis down)."""
        if not counts:
            return {}
        window = str(int(self.wall() // self.window_s))
        keys = {key: self.link.key(self.name, window, key) for key in counts}
        ttl_ms = int(self.window_s * 2000)

        async def op(client: Redis) -> dict[str, int] | None:
            pipe = client.pipeline(transaction=False)
            for key, redis_key in keys.items():
                pipe.incrby(redis_key, counts[key])
                pipe.pexpire(redis_key, ttl_ms)
            replies = await pipe.execute()
            return {key: int(replies[2 * i]) for i, key in enumerate(keys)}

        return await self.link.run(op, _none)


def _none() -> dict[str, int] | None:
    return None
