"""Kraken public REST API — https://docs.kraken.com/api/docs/rest-api/get-ticker-information

Limits: public endpoints are throttled per IP with no published number (about 1 request a
second sustained is the common guidance); OHLC returns at most 720 candles a call. No key.
Kraken answers most failures with HTTP 200 and a non-empty `error` list (`result_of` maps
them). Bitcoin is `XBT` and Dogecoin `XDG`; old assets' result keys carry X/Z prefixes
(`XXBTZUSD`), newer ones do not (`SOLUSD`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel

from cryptoagg.core.assets import Asset, normalise_symbol
from cryptoagg.core.errors import (
    BadResponse,
    NotSupported,
    ProviderError,
    RateLimited,
    Unavailable,
    UpstreamNotFound,
)
from cryptoagg.core.limits import Limits
from cryptoagg.core.models import Candle, Capability, Interval, ListedAsset, Quote, from_unix
from cryptoagg.providers.base import HttpProvider
from cryptoagg.providers.shapes import Recording

NAME = "kraken"
MAX_CANDLES = 720
_MINUTES = {Interval.M1: 1, Interval.H1: 60, Interval.D1: 1440}

#: Kraken error-string prefixes (`<severity><category>:<message>[:detail]`) and our errors
_ERRORS: tuple[tuple[str, type[ProviderError]], ...] = (
    ("EQuery:Unknown asset pair", UpstreamNotFound),
    ("EGeneral:Too many requests", RateLimited),
    ("EAPI:Rate limit exceeded", RateLimited),
    ("EService:Unavailable", Unavailable),
    ("EService:Busy", Unavailable),
)

# -- payload models ------------------------------------------------------------------------


class _Envelope(BaseModel):
    error: list[str] = []
    result: dict[str, Any] | None = None


class _Tick(BaseModel):
    c: list[Decimal]
    v: list[Decimal]
    p: list[Decimal]
    o: Decimal


class _Pair(BaseModel):
    altname: str
    wsname: str | None = None
    quote: str
    status: str = "online"


# -- parse functions -----------------------------------------------------------------------


def error_for(messages: Sequence[str]) -> ProviderError:
    """The cryptoagg error for Kraken's `error` list (its first entry decides)."""
    first = messages[0]
    for prefix, cls in _ERRORS:
        if first.startswith(prefix):
            return cls(NAME, first)
    return BadResponse(NAME, "; ".join(messages))


def result_of(payload: Any) -> dict[str, Any]:
    """The `result` of a Kraken envelope, raising for HTTP-200 error bodies
    (fixture: kraken/error_unknown_pair.json, which has no `result` key at all)."""
    body = _Envelope.model_validate(payload)
    if body.error:
        raise error_for(body.error)
    if body.result is None:
        raise BadResponse(NAME, "no result in the body")
    return body.result


def result_keys(code: str) -> tuple[str, str]:
    """The result keys Kraken may use for `<code>/USD`: `SOLUSD` or `XXBTZUSD`."""
    return f"{code}USD", f"X{code}ZUSD"


def parse_ticker(payload: Any, by_code: dict[str, Asset], now: datetime) -> list[Quote]:
    """`/0/public/Ticker` (fixture: kraken/ticker.json). The payload has no time: quotes are
    stamped `now`, the receive time, and marked so (`time_source="received"`).

    `c[0]` is the last trade, `v[1]`/`p[1]` the 24h volume and VWAP, `o` today's open.
    """
    by_key = {key: a for code, a in by_code.items() for key in result_keys(code)}
    quotes = []
    for key, raw in result_of(payload).items():
        asset = by_key.get(key)
        if asset is None:
            continue
        tick = _Tick.model_validate(raw)
        last = tick.c[0]
        quotes.append(
            Quote(
                asset_id=asset.id,
                provider=NAME,
                price=last,
                as_of=now,
                time_source="received",
                volume_24h=tick.v[1] * tick.p[1],
                change_24h_pct=(last - tick.o) / tick.o * 100 if tick.o else None,
            )
        )
    return quotes


def parse_ohlc(payload: Any, code: str, asset: Asset, interval: Interval) -> list[Candle]:
    """`/0/public/OHLC` (fixture: kraken/ohlc.json; fields in SCHEMAS.md).

    Rows are `[time, open, high, low, close, vwap, volume, count]`, time in Unix seconds.
    """
    result = result_of(payload)
    key = next((k for k in result_keys(code) if k in result), None)
    if key is None:
        series = [k for k in result if k != "last"]
        if len(series) != 1:
            raise KeyError(code)
        key = series[0]
    return [
        Candle(
            asset_id=asset.id,
            interval=interval,
            open_time=from_unix(int(row[0])),
            open=Decimal(str(row[1])),
            high=Decimal(str(row[2])),
            low=Decimal(str(row[3])),
            close=Decimal(str(row[4])),
            volume=Decimal(str(row[6])),
            provider=NAME,
        )
        for row in result[key]
    ]


def parse_asset_pairs(payload: Any) -> list[ListedAsset]:
    """`/0/public/AssetPairs` (fixture: kraken/asset_pairs.json): USD-quoted pairs only."""
    listed = []
    for raw in result_of(payload).values():
        pair = _Pair.model_validate(raw)
        if pair.quote not in ("ZUSD", "USD") or not pair.wsname:
            continue
        code = pair.wsname.split("/")[0]
        listed.append(
            ListedAsset(
                provider=NAME,
                native_id=code,
                symbol=normalise_symbol(code),
                active=pair.status == "online",
            )
        )
    return listed


# -- symbol mapping ------------------------------------------------------------------------


def request_pair(code: str) -> str:
    """The `pair` we ask for: Kraken base code + `USD` (`XBTUSD`)."""
    return f"{code}USD"


class KrakenProvider(HttpProvider):
    name = NAME
    order = 30
    # no published number; ~1 request/s sustained is the common guidance
    limits = Limits(per_second=1)
    hosts: ClassVar[dict[str, str]] = {"": "https://api.kraken.com"}
    capabilities = frozenset({Capability.SPOT_PRICE, Capability.OHLCV, Capability.LISTING})
    docs_url = "https://docs.kraken.com/api/docs/rest-api/get-ticker-information"
    shapes = (
        Recording(
            "/0/public/Ticker",
            "kraken/ticker.json",
            lambda p, s: parse_ticker(p, {"XBT": s.asset("bitcoin")}, s.now),
            maps=("$.result",),
        ),
    )

    async def spot_prices(self, assets: Sequence[Asset]) -> list[Quote]:
        by_code = self.native_ids(assets)
        if not by_code:
            raise NotSupported(NAME, "none of the assets is listed")
        pairs = ",".join(request_pair(code) for code in by_code)
        payload = await self.get_json("/0/public/Ticker", params={"pair": pairs})
        with self.parsing("Ticker"):
            return parse_ticker(payload, by_code, self.now())

    async def ohlcv(
        self, asset: Asset, interval: Interval, start: datetime, end: datetime
    ) -> list[Candle]:
        code = self.native_id(asset)
        if code is None:
            raise NotSupported(NAME, f"{asset.id} is not listed")
        if start < self.now() - interval.delta * MAX_CANDLES:
            # OHLC answers only the newest 720 candles, whatever `since` says
            raise NotSupported(NAME, f"only the last {MAX_CANDLES} {interval.value} candles")
        payload = await self.get_json(
            "/0/public/OHLC",
            params={
                "pair": request_pair(code),
                "interval": _MINUTES[interval],
                "since": int(start.timestamp()),
            },
        )
        with self.parsing("OHLC"):
            candles = parse_ohlc(payload, code, asset, interval)
        return [c for c in candles if start <= c.open_time <= end]

    async def listing(self) -> list[ListedAsset]:
        payload = await self.get_json("/0/public/AssetPairs")
        with self.parsing("AssetPairs"):
            return parse_asset_pairs(payload)
