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
from datetime import datetime, timedelta
from typing import ClassVar
from urllib.parse import urlsplit

from cryptoagg.core.assets import Asset
from cryptoagg.core.errors import BadRequest, BadResponse, NotSupported
from cryptoagg.core.images import Image, sniff
from cryptoagg.core.limits import Limits
from cryptoagg.core.models import (
    Candle,
    Capability,
    GlobalMarket,
    Interval,
    ListedAsset,
    MarketEntry,
    Quote,
    TrendingCoin,
)
from cryptoagg.providers.base import HttpProvider
from cryptoagg.providers.coingecko_parse import (
    NAME,
    hourly,
    parse_coins_list,
    parse_global,
    parse_markets,
    parse_ohlc,
    parse_simple_price,
    parse_trending,
)
from cryptoagg.providers.shapes import Recording

# -- parse functions (those of the API's payloads are in coingecko_parse.py) --------------


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
    order = 10
    # "~30 calls per minute", about 10k a month (Demo plan docs)
    limits = Limits(per_minute=30, monthly=10_000)
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
    uses_key = True
    docs_url = "https://docs.coingecko.com/v3.0.1/reference/introduction"
    shapes = (
        Recording(
            "/api/v3/simple/price",
            "coingecko/simple_price.json",
            lambda p, s: parse_simple_price(p, {"bitcoin": s.asset("bitcoin")}, s.now),
            maps=("$",),
        ),
    )

    def auth_headers(self) -> dict[str, str]:
        key = self.key()
        return {"x-cg-demo-api-key": key} if key else {}

    async def spot_prices(self, assets: Sequence[Asset]) -> list[Quote]:
        by_id = self.native_ids(assets)
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
        cg_id = self.native_id(asset)
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
