"""Domain models every provider's payload is turned into.

Prices are `Decimal`, times are timezone-aware UTC, assets are canonical ids (CoinGecko ids).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

from pydantic import BaseModel, ConfigDict, field_validator


class Capability(StrEnum):
    """What a provider can answer: the one list of capabilities, one pool each. Each names
    the adapter method that answers it (`method`); the `Provider` protocol (core/ports.py,
    whose method bodies are `HttpProvider`'s defaults) and the health probes' order
    (services/probes.py) refuse to import when they disagree with it."""

    SPOT_PRICE = "spot_price"
    MARKETS = "markets"
    OHLCV = "ohlcv"
    TRENDING = "trending"
    FEAR_GREED = "fear_greed"
    TVL = "tvl"
    NEWS = "news"
    GLOBAL = "global"
    LISTING = "listing"

    @property
    def method(self) -> str:
        """The name of the `Provider` method that answers this capability."""
        return CAPABILITY_METHODS[self]


#: capability -> the `Provider` method answering it; core/ports.py refuses to import when the
#: protocol's capability methods are not exactly these
CAPABILITY_METHODS: Mapping[Capability, str] = MappingProxyType(
    {
        Capability.SPOT_PRICE: "spot_prices",
        Capability.MARKETS: "markets",
        Capability.OHLCV: "ohlcv",
        Capability.TRENDING: "trending",
        Capability.FEAR_GREED: "fear_greed",
        Capability.TVL: "defi",
        Capability.NEWS: "news",
        Capability.GLOBAL: "global_market",
        Capability.LISTING: "listing",
    }
)


class Interval(StrEnum):
    M1 = "1m"
    H1 = "1h"
    D1 = "1d"

    @property
    def seconds(self) -> int:
        return {"1m": 60, "1h": 3600, "1d": 86400}[self.value]

    @property
    def delta(self) -> timedelta:
        return timedelta(seconds=self.seconds)


def utc(value: datetime) -> datetime:
    """Return `value` as an aware UTC datetime (naive input is taken to be UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def from_unix(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Timed(_Model):
    @field_validator("as_of", check_fields=False)
    @classmethod
    def _as_utc(cls, value: datetime) -> datetime:
        return utc(value)


#: where a quote's `as_of` comes from: the provider's own stamp, or our receive time (the
#: payload had no time)
TimeSource = Literal["provider", "received"]


class Quote(_Timed):
    """One provider's price for one asset. `quote_currency` is USD, or USDT/USDC before
    conversion; converted quotes keep the original currency in `converted_from`, and
    `rate_assumed` says the stablecoin's USD rate was taken to be 1 because no provider
    measured it. `time_source` says whether `as_of` is the provider's stamp or the time we
    received a payload that carried none."""

    asset_id: str
    provider: str
    price: Decimal
    as_of: datetime
    quote_currency: str = "USD"
    volume_24h: Decimal | None = None
    change_24h_pct: Decimal | None = None
    market_cap: Decimal | None = None
    converted_from: str | None = None
    rate_assumed: bool = False
    time_source: TimeSource = "provider"


class MarketEntry(_Timed):
    """One row of a provider's market listing, with the figures the provider sent (None:
    not sent; nothing here is derived)."""

    asset_id: str
    symbol: str
    name: str
    rank: int | None
    price: Decimal
    as_of: datetime
    provider: str
    change_24h_pct: Decimal | None = None
    market_cap: Decimal | None = None
    volume_24h: Decimal | None = None
    circulating_supply: Decimal | None = None
    #: the provider's URL of the coin's logo (never served as is: see services/images.py)
    image: str | None = None


class Candle(_Model):
    """One OHLCV period. `provider` is the provider's name, or "rollup" for a candle
    aggregated from finer stored candles (`core.candles.aggregate`).

    A rollup records how many complete finer candles it was built from (`sub_candles`) and
    is `partial` when that is fewer than its period holds (24 hours, 60 minutes): a period
    with gaps, or the current one. A provider's candle has neither (`False`, `None`)."""

    asset_id: str
    interval: Interval
    open_time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal | None
    provider: str
    partial: bool = False
    sub_candles: int | None = None

    @field_validator("open_time")
    @classmethod
    def _as_utc(cls, value: datetime) -> datetime:
        return utc(value)


class TrendingCoin(_Model):
    """One trending coin with what its provider sent (None: not sent). The figures are the
    provider's own (CoinGecko's trending `data`); amounts in USD or BTC, changes in per
    cent."""

    asset_id: str
    symbol: str
    name: str
    market_cap_rank: int | None
    score: int
    price_btc: Decimal | None = None
    thumb: str | None = None
    #: the provider's numeric id of the coin (CoinGecko's `coin_id`) and its web slug
    coin_id: int | None = None
    slug: str | None = None
    small: str | None = None
    large: str | None = None
    change_24h_pct: Decimal | None = None
    change_24h_btc_pct: Decimal | None = None
    market_cap: Decimal | None = None
    market_cap_btc: Decimal | None = None
    volume_24h: Decimal | None = None
    volume_24h_btc: Decimal | None = None
    #: URL of the provider's sparkline image
    sparkline: str | None = None
    content_title: str | None = None
    content_description: str | None = None


class FearGreed(_Timed):
    value: int
    classification: str
    as_of: datetime
    provider: str


class DefiProtocol(_Model):
    name: str
    slug: str
    tvl: Decimal
    category: str | None = None
    chains: tuple[str, ...] = ()
    change_1d_pct: Decimal | None = None


class DefiChain(_Model):
    name: str
    tvl: Decimal
    token_symbol: str | None = None


class DefiOverview(_Timed):
    total_tvl: Decimal
    protocols: tuple[DefiProtocol, ...]
    chains: tuple[DefiChain, ...]
    as_of: datetime
    provider: str


class NewsItem(_Model):
    title: str
    url: str
    source: str
    published_at: datetime
    provider: str
    summary: str | None = None
    currencies: tuple[str, ...] = ()
    #: the feed's GUID (RSS `<guid>`, Atom `<id>`) or the provider's post id: one story at
    #: one outlet, whatever its URL says
    guid: str | None = None

    @field_validator("published_at")
    @classmethod
    def _as_utc(cls, value: datetime) -> datetime:
        return utc(value)


class GlobalMarket(_Timed):
    total_market_cap_usd: Decimal
    total_volume_usd: Decimal
    btc_dominance_pct: Decimal | None
    active_cryptocurrencies: int | None
    as_of: datetime
    provider: str


class ListedAsset(_Model):
    """One row of a provider's listing endpoint: its native id and symbol for an asset."""

    provider: str
    native_id: str
    symbol: str
    name: str | None = None
    asset_id: str | None = None
    active: bool = True
