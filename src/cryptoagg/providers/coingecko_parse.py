"""CoinGecko's payloads (fixtures in tests/fixtures/providers/coingecko/) and the pure functions
that turn them into core models, for the adapter in `coingecko.py` (split from it by role: this
module parses, that one calls)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, RootModel

from cryptoagg.core.assets import Asset
from cryptoagg.core.models import (
    Candle,
    GlobalMarket,
    Interval,
    ListedAsset,
    MarketEntry,
    Quote,
    TrendingCoin,
    from_unix,
)

NAME = "coingecko"
HALF_HOUR = timedelta(minutes=30)

# -- payload models ------------------------------------------------------------------------


class _SimplePrice(BaseModel):
    usd: Decimal
    usd_market_cap: Decimal | None = None
    usd_24h_vol: Decimal | None = None
    usd_24h_change: Decimal | None = None
    last_updated_at: int | None = None


class _Market(BaseModel):
    id: str
    symbol: str
    name: str
    current_price: Decimal | None
    market_cap: Decimal | None = None
    market_cap_rank: int | None = None
    total_volume: Decimal | None = None
    price_change_percentage_24h: Decimal | None = None
    circulating_supply: Decimal | None = None
    last_updated: datetime | None = None
    image: str | None = None


class _TrendingContent(BaseModel):
    title: str | None = None
    description: str | None = None


class _TrendingData(BaseModel):
    price_change_percentage_24h: dict[str, Decimal] = {}
    market_cap: str | None = None
    market_cap_btc: str | None = None
    total_volume: str | None = None
    total_volume_btc: str | None = None
    sparkline: str | None = None
    content: _TrendingContent | None = None


class _TrendingItem(BaseModel):
    id: str
    coin_id: int | None = None
    name: str
    symbol: str
    market_cap_rank: int | None = None
    score: int
    price_btc: Decimal | None = None
    thumb: str | None = None
    small: str | None = None
    large: str | None = None
    slug: str | None = None
    data: _TrendingData | None = None


class _Trending(BaseModel):
    coins: list[dict[str, _TrendingItem]]


class _GlobalData(BaseModel):
    active_cryptocurrencies: int | None = None
    total_market_cap: dict[str, Decimal]
    total_volume: dict[str, Decimal]
    market_cap_percentage: dict[str, Decimal] = {}
    updated_at: int


class _Global(BaseModel):
    data: _GlobalData


class _ListItem(BaseModel):
    id: str
    symbol: str
    name: str


_List = RootModel[list[_ListItem]]

# -- parse functions -----------------------------------------------------------------------


def parse_simple_price(payload: Any, by_id: dict[str, Asset], now: datetime) -> list[Quote]:
    """`/api/v3/simple/price` (fixture: coingecko/simple_price.json). A row without
    `last_updated_at` is stamped `now`, the receive time, and marked so."""
    quotes = []
    for cg_id, raw in dict(payload).items():
        asset = by_id.get(cg_id)
        if asset is None:
            continue
        row = _SimplePrice.model_validate(raw)
        quotes.append(
            Quote(
                asset_id=asset.id,
                provider=NAME,
                price=row.usd,
                as_of=from_unix(row.last_updated_at) if row.last_updated_at else now,
                time_source="provider" if row.last_updated_at else "received",
                volume_24h=row.usd_24h_vol,
                change_24h_pct=row.usd_24h_change,
                market_cap=row.usd_market_cap,
            )
        )
    return quotes


def parse_markets(payload: Any, now: datetime) -> list[MarketEntry]:
    """`/api/v3/coins/markets` (fixture: coingecko/coins_markets.json)."""
    rows = [_Market.model_validate(item) for item in payload]
    return [
        MarketEntry(
            asset_id=row.id,
            symbol=row.symbol.upper(),
            name=row.name,
            rank=row.market_cap_rank,
            price=row.current_price,
            as_of=row.last_updated or now,
            provider=NAME,
            change_24h_pct=row.price_change_percentage_24h,
            market_cap=row.market_cap,
            volume_24h=row.total_volume,
            circulating_supply=row.circulating_supply,
            image=row.image,
        )
        for row in rows
        if row.current_price is not None
    ]


def _amount(text: str | None) -> Decimal | None:
    """A trending amount as CoinGecko writes it (`"$104,127,324"`, `"1354.025469919968"`);
    None when absent or not a finite number."""
    if text is None:
        return None
    try:
        value = Decimal(text.strip().removeprefix("$").replace(",", ""))
    except ArithmeticError:
        return None
    return value if value.is_finite() else None


def _trending_coin(item: _TrendingItem) -> TrendingCoin:
    data = item.data or _TrendingData()
    content = data.content or _TrendingContent()
    changes = data.price_change_percentage_24h
    return TrendingCoin(
        asset_id=item.id,
        symbol=item.symbol.upper(),
        name=item.name,
        market_cap_rank=item.market_cap_rank,
        score=item.score,
        price_btc=item.price_btc,
        thumb=item.thumb,
        coin_id=item.coin_id,
        slug=item.slug,
        small=item.small,
        large=item.large,
        change_24h_pct=changes.get("usd"),
        change_24h_btc_pct=changes.get("btc"),
        market_cap=_amount(data.market_cap),
        market_cap_btc=_amount(data.market_cap_btc),
        volume_24h=_amount(data.total_volume),
        volume_24h_btc=_amount(data.total_volume_btc),
        sparkline=data.sparkline,
        content_title=content.title,
        content_description=content.description,
    )


def parse_trending(payload: Any) -> list[TrendingCoin]:
    """`/api/v3/search/trending` (fixture: coingecko/search_trending.json): every field of
    a coin's item, its `data` figures in USD and BTC included."""
    body = _Trending.model_validate(payload)
    return [_trending_coin(item) for entry in body.coins for item in entry.values()]


@dataclass(frozen=True, slots=True)
class OhlcRow:
    close_time: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


def parse_ohlc(payload: Any) -> list[OhlcRow]:
    """`/api/v3/coins/{id}/ohlc` (fixture: coingecko/coins_ohlc.json).

    CoinGecko stamps each candle with its *close* time, and picks the width from `days`:
    30 minutes for 1-2 days, 4 hours for 3-30, 4 days above (free plan).
    """
    return [
        OhlcRow(
            from_unix(int(ts_ms) / 1000),
            Decimal(str(o)),
            Decimal(str(h)),
            Decimal(str(lo)),
            Decimal(str(c)),
        )
        for ts_ms, o, h, lo, c in payload
    ]


def hourly(rows: list[OhlcRow], asset: Asset) -> list[Candle]:
    """Join 30-minute rows into hourly candles (an hour in progress has one half)."""
    hours: dict[datetime, list[OhlcRow]] = {}
    for row in sorted(rows, key=lambda r: r.close_time):
        opened = row.close_time - HALF_HOUR
        hours.setdefault(opened.replace(minute=0, second=0, microsecond=0), []).append(row)
    return [
        Candle(
            asset_id=asset.id,
            interval=Interval.H1,
            open_time=hour,
            open=halves[0].open,
            high=max(r.high for r in halves),
            low=min(r.low for r in halves),
            close=halves[-1].close,
            volume=None,
            provider=NAME,
        )
        for hour, halves in hours.items()
    ]


def parse_global(payload: Any) -> GlobalMarket:
    """`/api/v3/global` (fixture: coingecko/global.json)."""
    data = _Global.model_validate(payload).data
    return GlobalMarket(
        total_market_cap_usd=data.total_market_cap["usd"],
        total_volume_usd=data.total_volume["usd"],
        btc_dominance_pct=data.market_cap_percentage.get("btc"),
        active_cryptocurrencies=data.active_cryptocurrencies,
        as_of=from_unix(data.updated_at),
        provider=NAME,
    )


def parse_coins_list(payload: Any) -> list[ListedAsset]:
    """`/api/v3/coins/list` (fixture: coingecko/coins_list.json)."""
    return [
        ListedAsset(
            provider=NAME, native_id=i.id, symbol=i.symbol.upper(), name=i.name, asset_id=i.id
        )
        for i in _List.model_validate(payload).root
    ]
