"""The one link to Redis (REDIS_URL): a pooled asyncio client, the Lua scripts, and whether
Redis is up right now.

Several replicas share state through Redis, but Redis down must never take a replica down:
every user goes through `run(op, fallback)`, which answers from the local fallback (and marks
the link `degraded`, with the reason) as soon as Redis does not answer. One background task
owns the link's state: while Redis is up it pings every `heartbeat_s`, so an idle link notices
a dead server too; while it is down it reconnects with a bounded back-off, runs the `on_rejoin`
callbacks (reconcile what was spent locally, resubscribe) and only then marks the link up, so
nobody uses shared state before it has been reconciled.

API for the other modules (keep it small):
- `link.up` / `link.degraded_reason`: whether shared state may be used now;
- `await link.run(op, fallback)`: `op(client)` on Redis, else `fallback()`;
- `link.key(*parts)`: a key under this deployment's prefix;
- `link.script(lua)`: a Lua script loaded once (reloaded by its SHA after a Redis restart);
- `link.on_rejoin(callback)`: awaited after each reconnection, before `up` turns true;
- `link.client`: the pooled client, for a caller that handles errors itself (then it calls
  `link.lost(exc)` on a connection error).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar, cast

import structlog
from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

T = TypeVar("T")

log = structlog.get_logger("cryptoagg.redis")

#: errors that mean "Redis is not answering" (anything else is a bug in a command or script)
LINK_ERRORS: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
    TimeoutError,
)

#: errors that keep a (re)connection from succeeding
DOWN_ERRORS: tuple[type[BaseException], ...] = (*LINK_ERRORS, RedisError)

Rejoin = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class LinkConfig:
    url: str
    #: every key starts with it, so several deployments (or tests) can share one server
    prefix: str = "cryptoagg:"
    #: a command that takes longer counts as Redis down (the caller falls back)
    timeout_s: float = 0.5
    pool_size: int = 64
    heartbeat_s: float = 5.0
    reconnect_min_s: float = 0.2
    reconnect_max_s: float = 5.0


@dataclass(frozen=True, slots=True)
class LinkReading:
    """The link's state for /health and /metrics."""

    up: bool
    degraded_reason: str | None
    #: monotonic seconds the link has been down (None: up)
    down_for_s: float | None
    fallbacks: int
    rejoins: int


class RedisLink:
    def __init__(
        self,
        config: LinkConfig,
        *,
        client: Redis | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.client: Redis = client or _client(config)
        self._clock = clock
        self._up = False
        self._reason: str | None = "not connected yet"
        self._down_since: float | None = clock()
        self._rejoin: list[Rejoin] = []
        self._scripts: list[AsyncScript] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self.fallbacks = 0
        self.rejoins = 0

    # --- state -----------------------------------------------------------------------------

    @property
    def up(self) -> bool:
        return self._up

    @property
    def degraded_reason(self) -> str | None:
        return None if self._up else self._reason

    def reading(self) -> LinkReading:
        since = self._down_since
        down_for = None if self._up or since is None else round(self._clock() - since, 3)
        return LinkReading(self._up, self.degraded_reason, down_for, self.fallbacks, self.rejoins)

    def lost(self, error: BaseException) -> None:
        """Redis stopped answering: users fall back until the reconnect loop gets it back."""
        reason = f"{type(error).__name__}: {error}"[:200]
        if self._up:
            log.warning("redis_down", reason=reason)
            self._down_since = self._clock()
        self._up = False
        self._reason = reason
        self._wake.set()

    # --- use -------------------------------------------------------------------------------

    def key(self, *parts: str) -> str:
        return self.config.prefix + ":".join(parts)

    def script(self, lua: str) -> AsyncScript:
        """Register `lua` once: it is loaded at each (re)connection and called by its SHA."""
        script = self.client.register_script(lua)
        self._scripts.append(script)
        return script

    def on_rejoin(self, callback: Rejoin) -> None:
        """Awaited after each reconnection, before `up` turns true; a connection error in it
        makes the loop try again later (so it must be safe to repeat)."""
        self._rejoin.append(callback)

    async def run(
        self,
        op: Callable[[Redis], Awaitable[T]],
        fallback: Callable[[], Awaitable[T]] | Callable[[], T],
    ) -> T:
        """`op(client)` while Redis is up, else (or when it fails) `fallback()`. A connection
        error or timeout marks the link down; another Redis error is logged and falls back
        without doing so (a bad command does not mean Redis is gone)."""
        if self._up:
            try:
                return await op(self.client)
            except LINK_ERRORS as exc:
                self.lost(exc)
            except RedisError as exc:
                log.warning("redis_command_failed", error=f"{type(exc).__name__}: {exc}"[:200])
        self.fallbacks += 1
        result = fallback()
        if inspect.isawaitable(result):
            return cast(T, await result)
        return result

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect once (a failure leaves the link degraded, never raises) and start the task
        that keeps it connected."""
        await self._connect()
        if self._task is None:
            self._task = asyncio.create_task(self._keep(), name="redis-link")

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            # the loop also ends on `_closing`: a cancellation redis-py turns into a
            # connection error (or a timeout that ends as the cancel arrives) must not
            # keep it running
            self._closing = True
            self._wake.set()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._up = False
        self._reason = "closed"
        await self.client.aclose()

    async def _connect(self) -> bool:
        """Ping, load the scripts, run the rejoin callbacks; then up. Pooled connections
        from before an outage are dropped first: each would fail once more, after a replica
        has taken a shared-cache lock for instance."""
        try:
            if not self._up:
                await self.client.connection_pool.disconnect()
            await self.client.ping()
            for script in self._scripts:
                script.sha = await self.client.script_load(script.script)
            for callback in self._rejoin:
                await self._rejoined(callback)
        except DOWN_ERRORS as exc:  # a wrong password too: down, with the reason
            self.lost(exc)
            return False
        if not self._up:
            down_s = None if self._down_since is None else self._clock() - self._down_since
            log.info("redis_up", down_s=None if down_s is None else round(down_s, 3))
            self.rejoins += 1
        self._up = True
        self._reason = None
        self._down_since = None
        return True

    @staticmethod
    async def _rejoined(callback: Rejoin) -> None:
        """One rejoin callback; Redis failing in it is raised (the rejoin is retried), a bug
        in it is logged and must not keep every replica off shared state."""
        try:
            await callback()
        except LINK_ERRORS:
            raise
        except Exception as exc:
            log.error("redis_rejoin_callback_failed", error=f"{type(exc).__name__}: {exc}"[:200])

    async def _keep(self) -> None:
        delay = self.config.reconnect_min_s
        while not self._closing:
            if self._up:
                delay = self.config.reconnect_min_s
                self._wake.clear()
                # wakes early when a user saw Redis fail
                try:
                    async with asyncio.timeout(self.config.heartbeat_s):
                        await self._wake.wait()
                except TimeoutError:
                    pass
                if self._up:
                    try:
                        await self.client.ping()
                    except LINK_ERRORS as exc:
                        self.lost(exc)
                continue
            await asyncio.sleep(delay)
            if not await self._connect():
                delay = min(delay * 2, self.config.reconnect_max_s)


def _client(config: LinkConfig) -> Redis:
    """A pooled client that fails fast: no retries of its own (the caller falls back, the
    link reconnects) and a short timeout on every socket operation."""
    return Redis.from_url(
        config.url,
        max_connections=config.pool_size,
        socket_timeout=config.timeout_s,
        socket_connect_timeout=config.timeout_s,
        retry=Retry(NoBackoff(), 0),
        decode_responses=False,
    )
