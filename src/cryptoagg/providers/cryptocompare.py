"""CryptoCompare (now CoinDesk Data) min-api — https://developers.coindesk.com/documentation/legacy/

Limits: an optional free key goes in header `authorization: Apikey …` (never in the URL);
secondary sources quote 30/s, 1,200/hour, 10,000/day (unverified). histo* return at most
2,000 points per call. Failures often come as HTTP 200 with
`{"Response": "Error", "Message": …}`; `check_errors` maps those.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel

from cryptoagg.core.assets import Asset
from cryptoagg.core.errors import BadResponse, NotSupported, RateLimited, UpstreamNotFound
from cryptoagg.core.limits import Limits
from cryptoagg.core.models import Candle, Capability, Interval, Quote, from_unix
from cryptoagg.providers.base import HttpProvider
from cryptoagg.providers.shapes import Recording

NAME = "cryptocompare"
MAX_POINTS = 2000
_HISTO = {Interval.M1: "histominute", Interval.H1: "histohour", Interval.D1: "histoday"}
_NOT_FOUND = ("market does not exist", "no data for the symbol")

# -- payload models ------------------------------------------------------------------------


class _Raw(BaseModel):
    PRICE: Decimal
    LASTUPDATE: int
    VOLUME24HOURTO: Decimal | None = None
    CHANGEPCT24HOUR: Decimal | None = None
    MKTCAP: Decimal | None = None


class _Point(BaseModel):
    time: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volumefrom: Decimal | None = None


class _HistoData(BaseModel):
    Data: list[_Point]


class _Histo(BaseModel):
    Data: _HistoData


# -- parse functions -----------------------------------------------------------------------


def check_errors(payload: Any) -> Any:
    """Raise for `{"Response": "Error", "Message": …}` bodies that arrive with HTTP 200."""
    if not (isinstance(payload, dict) and payload.get("Response") == "Error"):
        return payload
    message = str(payload.get("Message") or "error response")[:200]
    lowered = message.lower()
    if "rate limit" in lowered:
        raise RateLimited(NAME, message)
    if any(phrase in lowered for phrase in _NOT_FOUND):
        raise UpstreamNotFound(NAME, message)
    raise BadResponse(NAME, message)


def parse_pricemultifull(payload: Any, by_symbol: dict[str, Asset]) -> list[Quote]:
    """`/data/pricemultifull` (fixture: cryptocompare/pricemultifull.json). Reads `RAW`;
    `DISPLAY` holds the same numbers as formatted text."""
    raw = check_errors(payload)["RAW"]
    quotes = []
    for symbol, by_currency in raw.items():
        asset = by_symbol.get(symbol)
        if asset is None or "USD" not in by_currency:
            continue
        row = _Raw.model_validate(by_currency["USD"])
        quotes.append(
            Quote(
                asset_id=asset.id,
                provider=NAME,
                price=row.PRICE,
                as_of=from_unix(row.LASTUPDATE),
                volume_24h=row.VOLUME24HOURTO,
                change_24h_pct=row.CHANGEPCT24HOUR,
                market_cap=row.MKTCAP,
            )
        )
    return quotes


def parse_histo(payload: Any, asset: Asset, interval: Interval) -> list[Candle]:
    """`/data/v2/histoday` and siblings (fixture: cryptocompare/v2_histoday.json).

    `time` is the candle's open time; volume is `volumefrom` (in the base asset)."""
    points = _Histo.model_validate(check_errors(payload)).Data.Data
    return [
        Candle(
            asset_id=asset.id,
            interval=interval,
            open_time=from_unix(p.time),
            open=p.open,
            high=p.high,
            low=p.low,
            close=p.close,
            volume=p.volumefrom,
            provider=NAME,
        )
        for p in points
        # all-zero points pad the series before the pair had any trades
        if not (p.open == p.high == p.low == p.close == 0)
    ]


def histo_limit(interval: Interval, start: datetime, end: datetime) -> int:
    """Number of whole intervals from `start` to `end`, between 1 and `MAX_POINTS`."""
    points = int((end - start).total_seconds() // interval.seconds)
    return max(1, min(points, MAX_POINTS))


class CryptoCompareProvider(HttpProvider):
    name = NAME
    order = 70
    # secondary sources: 30/s, 1,200/hour (unverified)
    limits = Limits(per_minute=20)
    hosts: ClassVar[dict[str, str]] = {"": "https://min-api.cryptocompare.com"}
    capabilities = frozenset({Capability.SPOT_PRICE, Capability.OHLCV})
    uses_key = True
    docs_url = "https://developers.coindesk.com/documentation/legacy/"
    shapes = (
        Recording(
            "/data/pricemultifull",
            "cryptocompare/pricemultifull.json",
            lambda p, s: parse_pricemultifull(p, {"BTC": s.asset("bitcoin")}),
            maps=("$.RAW", "$.RAW.*", "$.DISPLAY", "$.DISPLAY.*"),
        ),
    )

    @classmethod
    def derived_id(cls, asset: Asset) -> str | None:
        """The ticker of a tracked asset (CryptoCompare names coins by symbol; an untracked
        one's ticker may belong to another coin there)."""
        return asset.symbol if asset.tracked else None

    def auth_headers(self) -> dict[str, str]:
        key = self.key()
        return {"authorization": f"Apikey {key}"} if key else {}

    async def spot_prices(self, assets: Sequence[Asset]) -> list[Quote]:
        by_symbol = self.native_ids(assets)
        if not by_symbol:
            raise NotSupported(NAME, "none of the assets is listed")
        payload = await self.get_json(
            "/data/pricemultifull",
            params={"fsyms": ",".join(sorted(by_symbol)), "tsyms": "USD"},
        )
        with self.parsing("pricemultifull"):
            return parse_pricemultifull(payload, by_symbol)

    async def ohlcv(
        self, asset: Asset, interval: Interval, start: datetime, end: datetime
    ) -> list[Candle]:
        symbol = self.native_id(asset)
        if symbol is None:
            raise NotSupported(NAME, f"{asset.id} is not listed")
        endpoint = _HISTO[interval]
        payload = await self.get_json(
            f"/data/v2/{endpoint}",
            params={
                "fsym": symbol,
                "tsym": "USD",
                "limit": histo_limit(interval, start, end),
                "toTs": int(end.timestamp()),
            },
        )
        with self.parsing(endpoint):
            candles = parse_histo(payload, asset, interval)
        return [c for c in candles if start <= c.open_time <= end]
