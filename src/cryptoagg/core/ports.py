"""What the services need from the outside world, as protocols (implemented in providers/)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from cryptoagg.core.assets import Asset
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
    """One upstream data provider. Methods for capabilities it lacks raise `NotSupported`.

    Adapters never retry, sleep or cache; pools do.
    """

    @property
    def name(self) -> str: ...

    @property
    def capabilities(self) -> frozenset[Capability]: ...

    @property
    def requires_key(self) -> bool: ...

    @property
    def disabled_reason(self) -> str | None: ...

    async def spot_prices(self, assets: Sequence[Asset]) -> list[Quote]: ...

    async def markets(self, limit: int) -> list[MarketEntry]: ...

    async def ohlcv(
        self, asset: Asset, interval: Interval, start: datetime, end: datetime
    ) -> list[Candle]: ...

    async def trending(self) -> list[TrendingCoin]: ...

    async def fear_greed(self) -> FearGreed: ...

    async def defi(self) -> DefiOverview: ...

    async def news(self) -> list[NewsItem]: ...

    async def global_market(self) -> GlobalMarket: ...

    async def listing(self) -> list[ListedAsset]: ...

    def supports(self, asset: Asset) -> bool: ...


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
