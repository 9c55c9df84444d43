"""Binance spot market data — https://developers.binance.com/docs/binance-spot-api-docs/rest-api

Limits: REQUEST_WEIGHT 6,000 per minute per IP (ticker/24hr weighs 2 for 1-20 symbols, 40 for
21-100; klines 2); 429 with `Retry-After` when exceeded, 418 (IP ban) for repeat offenders.
No key for market data. Hosts in restricted countries (e.g. US clouds) get HTTP 451, mapped
to `GeoBlocked` by the base class. Prices are quoted in USDT; the price service converts them
to USD, this adapter does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar

import orjson
from pydantic import BaseModel, RootModel

from cryptoagg.core.assets import Asset
from cryptoagg.core.errors import NotSupported
from cryptoagg.core.limits import Limits
from cryptoagg.core.models import (
    Candle,
    Capability,
    Interval,
    ListedAsset,
    Quote,
    from_unix,
    utc,
)
from cryptoagg.providers.base import HttpProvider
from cryptoagg.providers.shapes import Recording

NAME = "binance"
QUOTE = "USDT"
#: the documented maximum of `/api/v3/klines`; callers chunk longer ranges
MAX_KLINES = 1000
_EPOCH = from_unix(0)

# -- payload models ------------------------------------------------------------------------


class _Ticker(BaseModel):
    """One FULL 24hr ticker; the other fields of the payload are ignored."""

    symbol: str
    lastPrice: Decimal
    priceChangePercent: Decimal | None = None
    quoteVolume: Decimal | None = None
    closeTime: int


_Tickers = RootModel[list[_Ticker]]


class _Symbol(BaseModel):
    symbol: str
    status: str
    baseAsset: str
    quoteAsset: str


class _ExchangeInfo(BaseModel):
    symbols: list[_Symbol]


# -- parse functions -----------------------------------------------------------------------


def from_ms(value: int) -> datetime:
    """A Binance millisecond timestamp as UTC, exactly (no float rounding)."""
    seconds, millis = divmod(int(value), 1000)
    return from_unix(seconds) + timedelta(milliseconds=millis)


def parse_tickers(payload: Any, by_symbol: dict[str, Asset]) -> list[Quote]:
    """`/api/v3/ticker/24hr` (fixtures: binance/ticker_24hr_list.json for the list answered to
    `symbols=`, binance/ticker_24hr_single.json for the one-object shape)."""
    rows = payload if isinstance(payload, list) else [payload]
    return [
        Quote(
            asset_id=by_symbol[row.symbol].id,
            provider=NAME,
            price=row.lastPrice,
            as_of=from_ms(row.closeTime),
            quote_currency=QUOTE,
            volume_24h=row.quoteVolume,
            change_24h_pct=row.priceChangePercent,
        )
        for row in _Tickers.model_validate(rows).root
        if row.symbol in by_symbol
    ]


def parse_klines(payload: Any, asset: Asset, interval: Interval) -> list[Candle]:
    """`/api/v3/klines` (fixture: binance/klines.json; field order in SCHEMAS.md).

    `[0]` is the open time in ms and `[5]` the base-asset volume.
    """
    if not isinstance(payload, list):
        raise TypeError("klines payload is not a list")
    return [
        Candle(
            asset_id=asset.id,
            interval=interval,
            open_time=from_ms(row[0]),
            open=Decimal(str(row[1])),
            high=Decimal(str(row[2])),
            low=Decimal(str(row[3])),
            close=Decimal(str(row[4])),
            volume=Decimal(str(row[5])),
            provider=NAME,
        )
        for row in payload
    ]


def parse_exchange_info(payload: Any) -> list[ListedAsset]:
    """`/api/v3/exchangeInfo` (fixture: binance/exchange_info.json): USDT pairs only."""
    return [
        ListedAsset(
            provider=NAME,
            native_id=s.baseAsset,
            symbol=s.baseAsset,
            active=s.status == "TRADING",
        )
        for s in _ExchangeInfo.model_validate(payload).symbols
        if s.quoteAsset == QUOTE
    ]


# -- symbol mapping ------------------------------------------------------------------------


def pair(base: str) -> str:
    """Binance symbol of `base` against USDT: `BTC` -> `BTCUSDT`."""
    return f"{base}{QUOTE}"


def symbols_param(symbols: Sequence[str]) -> str:
    """The `symbols` query value: a compact JSON array, `["BTCUSDT","ETHUSDT"]`."""
    return orjson.dumps(list(symbols)).decode()


def _ms(value: datetime) -> int:
    """`value` in Unix milliseconds, exactly (float `timestamp()` can lose a millisecond)."""
    return (utc(value) - _EPOCH) // timedelta(milliseconds=1)


class BinanceProvider(HttpProvider):
    name = NAME
    order = 20
    # REQUEST_WEIGHT 6,000/min per IP; our calls weigh 2-40
    limits = Limits(per_second=10, per_minute=600)
    hosts: ClassVar[dict[str, str]] = {"": "https://api.binance.com"}
    capabilities = frozenset({Capability.SPOT_PRICE, Capability.OHLCV, Capability.LISTING})
    docs_url = "https://developers.binance.com/docs/binance-spot-api-docs/rest-api"
    shapes = (
        Recording(
            "/api/v3/ticker/24hr",
            "binance/ticker_24hr_list.json",
            # the documented example is the BNBBTC ticker
            lambda p, s: parse_tickers(p, {"BNBBTC": s.asset("binancecoin")}),
        ),
    )

    async def spot_prices(self, assets: Sequence[Asset]) -> list[Quote]:
        by_symbol = {pair(base): a for base, a in self.native_ids(assets).items()}
        if not by_symbol:
            raise NotSupported(NAME, "none of the assets is listed")
        payload = await self.get_json(
            "/api/v3/ticker/24hr", params={"symbols": symbols_param(list(by_symbol))}
        )
        with self.parsing("ticker/24hr"):
            return parse_tickers(payload, by_symbol)

    async def ohlcv(
        self, asset: Asset, interval: Interval, start: datetime, end: datetime
    ) -> list[Candle]:
        base = self.native_id(asset)
        if base is None:
            raise NotSupported(NAME, f"{asset.id} is not listed")
        payload = await self.get_json(
            "/api/v3/klines",
            params={
                "symbol": pair(base),
                "interval": interval.value,
                "startTime": _ms(start),
                "endTime": _ms(end),
                "limit": MAX_KLINES,
            },
        )
        with self.parsing("klines"):
            return parse_klines(payload, asset, interval)

    async def listing(self) -> list[ListedAsset]:
        payload = await self.get_json("/api/v3/exchangeInfo")
        with self.parsing("exchangeInfo"):
            return parse_exchange_info(payload)
