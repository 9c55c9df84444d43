"""What the services need from the outside world, as protocols (implemented in providers/)."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from cryptoagg.core.assets import Asset
from cryptoagg.core.errors import NotSupported
from cryptoagg.core.images import Image
from cryptoagg.core.models import (
    Candle,
    Capability,
    DefiOverview,
    FearGreed,
    GlobalMarket,
    Interval,
    ListedAsset,
    MarketEntry,
    NewsItem,
    Quote,
    TrendingCoin,
)


class Outbound(Protocol):
    """The gate every request to a provider passes just before it leaves: it spends the
    provider's budget (waiting for it when allowed) or raises `BudgetExhausted`."""

    async def before_send(self, provider: str) -> None: ...

    def not_sent(self, provider: str) -> None:
        """The request `before_send` admitted never reached the provider (no connection)."""


class Provider(Protocol):
    """One upstream data provider: one async method per capability (`Capability.method`).

    The method bodies here are the defaults an adapter inherits (`HttpProvider` subclasses this
    protocol): a capability the provider lacks raises `NotSupported`. Adapters never retry,
    sleep or cache; pools do.
    """

    @property
    def name(self) -> str: ...

    @property
    def capabilities(self) -> frozenset[Capability]: ...

    @property
    def requires_key(self) -> bool: ...

    @property
    def disabled_reason(self) -> str | None: ...

    async def spot_prices(self, assets: Sequence[Asset]) -> list[Quote]:
        raise not_offered(self, Capability.SPOT_PRICE)

    async def markets(self, limit: int) -> list[MarketEntry]:
        raise not_offered(self, Capability.MARKETS)

    async def ohlcv(
        self, asset: Asset, interval: Interval, start: datetime, end: datetime
    ) -> list[Candle]:
        raise not_offered(self, Capability.OHLCV)

    async def trending(self) -> list[TrendingCoin]:
        raise not_offered(self, Capability.TRENDING)

    async def fear_greed(self) -> FearGreed:
        raise not_offered(self, Capability.FEAR_GREED)

    async def defi(self) -> DefiOverview:
        raise not_offered(self, Capability.TVL)

    async def news(self) -> list[NewsItem]:
        raise not_offered(self, Capability.NEWS)

    async def global_market(self) -> GlobalMarket:
        raise not_offered(self, Capability.GLOBAL)

    async def listing(self) -> list[ListedAsset]:
        raise not_offered(self, Capability.LISTING)

    def supports(self, asset: Asset) -> bool: ...


def not_offered(provider: Provider, capability: Capability) -> NotSupported:
    """A capability the provider lacks: not a failure of the provider (pools skip it)."""
    return NotSupported(provider.name, f"does not offer {capability.value}")


def _capability_methods(protocol: type) -> set[str]:
    return {name for name, value in vars(protocol).items() if inspect.iscoroutinefunction(value)}


# By construction: the protocol declares one method per capability, named by the capability
# table (`Capability.method`), and no other async method, so neither can drift from the other.
if _capability_methods(Provider) != {c.method for c in Capability}:  # pragma: no cover
    raise TypeError("core.ports.Provider and core.models.CAPABILITY_METHODS disagree")


@runtime_checkable
class ImageHost(Protocol):
    """A provider whose answers link coin images on a host of its own (CoinGecko's CDN). Only
    paths on that host are ever fetched: `image_path` turns a URL from the provider's own
    answer into one, and refuses any other URL."""

    @property
    def name(self) -> str: ...

    @property
    def disabled_reason(self) -> str | None: ...

    def image_path(self, url: str) -> str | None:
        """The path of `url` on the provider's image host; None for any other URL."""

    async def image(self, path: str) -> Image:
        """The image at `path` (from `image_path`) on the image host: one request."""
