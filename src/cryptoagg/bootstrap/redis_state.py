"""Shared state across replicas (REDIS_URL): the Redis link, the cache's shared tier and the
list of what the cache may share.

Unset REDIS_URL builds nothing: every user gets None and keeps its in-process state.
"""

from __future__ import annotations

import contextlib

from cryptoagg.config import Settings
from cryptoagg.core.models import DefiOverview, FearGreed, TrendingCoin
from cryptoagg.resilience.pool import Answer
from cryptoagg.resilience.redis_link import LinkConfig, RedisLink
from cryptoagg.resilience.shared_cache import SharedTier
from cryptoagg.resilience.shared_codec import ValueCodec
from cryptoagg.services.events import EventHub
from cryptoagg.services.events_redis import RedisRelay
from cryptoagg.services.market import Listed
from cryptoagg.services.prices import PriceBatch, PriceReport

#: what the services cache (`ServiceContext.cached`), for the shared tier's codec; the types
#: their fields name are found from these. `Answer.value` is generic: its values are listed.
#: A value of a type missing here is not shared (logged once per key), never wrong.
SHARED_TYPES: tuple[type, ...] = (
    Listed,
    PriceReport,
    PriceBatch,
    Answer,
    TrendingCoin,
    FearGreed,
    DefiOverview,
)


async def redis_link(settings: Settings, stack: contextlib.AsyncExitStack) -> RedisLink | None:
    """The started link (degraded, not failing, when Redis is down at start), or None."""
    if settings.redis_url is None:
        return None
    link = RedisLink(
        LinkConfig(
            settings.redis_url,
            prefix=settings.redis_prefix,
            timeout_s=settings.redis_timeout_s,
            pool_size=settings.redis_pool_size,
            reconnect_max_s=settings.redis_reconnect_max_s,
        )
    )
    stack.push_async_callback(link.aclose)
    await link.start()
    return link


def shared_tier(settings: Settings, link: RedisLink | None) -> SharedTier | None:
    if link is None:
        return None
    return SharedTier(link, ValueCodec(SHARED_TYPES), lease_s=settings.redis_lock_lease_s)


async def event_relay(
    events: EventHub, link: RedisLink | None, stack: contextlib.AsyncExitStack
) -> RedisRelay | None:
    """The hub's updates to and from the other replicas (WS /ws clients on every replica
    hear the leader's collectors)."""
    if link is None:
        return None
    relay = RedisRelay(events, link)
    await relay.start()
    stack.push_async_callback(relay.aclose)
    return relay
