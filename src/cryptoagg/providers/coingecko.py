"""CoinGecko public API v3 — https://docs.coingecko.com/v3.0.1/reference/introduction

Limits: public/Demo plan "~30 calls per minute" and about 10k calls a month; a 429 carries
`retry-after` (119 s observed). An optional free Demo key goes in header `x-cg-demo-api-key`.
CoinGecko ids are cryptoagg's canonical asset ids.

Coin images: the answers link logos on CoinGecko's CDN (`coin-images.coingecko.com`; the
markets listing still names the older `assets.coingecko.com`, which serves the same paths).
`image_path` accepts only those URLs, `image` fetches one from the CDN (host `images`: no key,
no redirect), for `services/images.py`. The CDN publishes no limit: its calls are counted in
CoinGecko's budget like any other.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import BaseModel, RootModel

from cryptoagg.core.assets import Asset
from cryptoagg.core.errors import BadRequest, BadResponse, NotSupported
from cryptoagg.core.images import Image, sniff
from cryptoagg.core.models import (
    Candle,
    Capability,
    GlobalMarket,
    Interval,
    ListedAsset,
    MarketEntry,
    Quote,
    TrendingCoin,
    from_unix,
)
from cryptoagg.providers.base import HttpProvider, native_ids

NAME = "coingecko"

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


def parse_image_url(url: str) -> str | None:
    """The path of a coin image URL on CoinGecko's image hosts, its query (a cache buster)
    dropped; None for any other URL (another host, a port, credentials, another path)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if (
        parts.scheme != "https"
        or parts.hostname not in IMAGE_HOSTS
        or port not in (None, 443)
        or parts.username is not None
        or not _IMAGE_PATH.fullmatch(parts.path)
    ):
        return None
    return parts.path


# -- symbol mapping ------------------------------------------------------------------------

HALF_HOUR = timedelta(minutes=30)
#: the free plan's 30-minute OHLC (days=1..2), which makes our hourly candles
OHLC_WINDOW = timedelta(days=2)
#: the host key of the image CDN
IMAGES = "images"
#: hosts CoinGecko's answers link coin images on; both serve the same paths
IMAGE_HOSTS = frozenset({"coin-images.coingecko.com", "assets.coingecko.com"})
#: `/coins/images/<number>/<size>/<file>`, as every recorded image URL is
_IMAGE_PATH = re.compile(
    r"/coins/images/[0-9]{1,12}/(?:thumb|small|standard|large)/[A-Za-z0-9_.()+-]{1,200}"
    r"\.(?:png|jpe?g|gif|webp)",
    re.IGNORECASE,
)
#: the largest image accepted (CoinGecko's 250 px logos are tens of kB)
MAX_IMAGE_BYTES = 512 * 1024


class CoinGeckoProvider(HttpProvider):
    name = NAME
    hosts: ClassVar[dict[str, str]] = {
        "": "https://api.coingecko.com",
        IMAGES: "https://coin-images.coingecko.com",
    }
    file_hosts = frozenset({IMAGES})
    capabilities = frozenset(
        {
            Capability.SPOT_PRICE,
            Capability.MARKETS,
            Capability.OHLCV,
            Capability.TRENDING,
            Capability.GLOBAL,
            Capability.LISTING,
        }
    )
    docs_url = "https://docs.coingecko.com/v3.0.1/reference/introduction"

    def auth_headers(self) -> dict[str, str]:
        key = self.key()
        return {"x-cg-demo-api-key": key} if key else {}

    async def spot_prices(self, assets: Sequence[Asset]) -> list[Quote]:
        by_id = native_ids(NAME, assets)
        if not by_id:
            raise NotSupported(NAME, "none of the assets is listed")
        payload = await self.get_json(
            "/api/v3/simple/price",
            params={
                "ids": ",".join(sorted(by_id)),
                "vs_currencies": "usd",
                "include_market_cap": "true",
                "include_24hr_vol": "true",
                "include_24hr_change": "true",
                "include_last_updated_at": "true",
            },
        )
        with self.parsing("simple/price"):
            return parse_simple_price(payload, by_id, self.now())

    async def markets(self, limit: int) -> list[MarketEntry]:
        payload = await self.get_json(
            "/api/v3/coins/markets",
            params={
                "vs_currency": "usd",
                "order": "market_cap_desc",
                "per_page": min(max(limit, 1), 250),
                "page": 1,
            },
        )
        with self.parsing("coins/markets"):
            return parse_markets(payload, self.now())

    async def ohlcv(
        self, asset: Asset, interval: Interval, start: datetime, end: datetime
    ) -> list[Candle]:
        cg_id = asset.native_id(NAME)
        # the free plan has no daily or minute candles: only 30-minute ones (days=1..2),
        # which make hours; 4-hour and 4-day widths fit none of our intervals
        if cg_id is None or interval is not Interval.H1:
            raise NotSupported(NAME, f"no {interval.value} candles for {asset.id}")
        if start < self.now() - OHLC_WINDOW:
            # asking would spend quota on a window that cannot cover the range
            raise NotSupported(NAME, "hourly candles cover only the last 2 days")
        payload = await self.get_json(
            f"/api/v3/coins/{cg_id}/ohlc", params={"vs_currency": "usd", "days": OHLC_WINDOW.days}
        )
        with self.parsing("ohlc"):
            candles = hourly(parse_ohlc(payload), asset)
        return [c for c in candles if start <= c.open_time <= end]

    async def trending(self) -> list[TrendingCoin]:
        payload = await self.get_json("/api/v3/search/trending")
        with self.parsing("search/trending"):
            return parse_trending(payload)

    async def global_market(self) -> GlobalMarket:
        payload = await self.get_json("/api/v3/global")
        with self.parsing("global"):
            return parse_global(payload)

    async def listing(self) -> list[ListedAsset]:
        payload = await self.get_json("/api/v3/coins/list")
        with self.parsing("coins/list"):
            return parse_coins_list(payload)

    def image_path(self, url: str) -> str | None:
        return parse_image_url(url)

    async def image(self, path: str) -> Image:
        """A coin image from the CDN (`path` from `image_path`): PNG, JPEG, GIF or WebP (told
        by its bytes), at most MAX_IMAGE_BYTES."""
        if not _IMAGE_PATH.fullmatch(path):
            raise BadRequest(NAME, "not a coin image path")
        data = (await self.request(path, host=IMAGES)).content
        if len(data) > MAX_IMAGE_BYTES:
            raise BadResponse(NAME, f"image over {MAX_IMAGE_BYTES} bytes")
        media_type = sniff(data)
        if media_type is None:
            raise BadResponse(NAME, "not a PNG, JPEG, GIF or WebP image")
        return Image(data, media_type)
