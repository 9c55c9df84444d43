"""Coinbase — Exchange API
https://docs.cdp.coinbase.com/exchange/reference/exchangerestapi_getproductticker and App API
spot prices https://docs.cdp.coinbase.com/coinbase-app/track-apis/prices

Limits: Exchange public endpoints 10 requests/s per IP (bursts to 15); App API 10,000
requests/hour (documented per key; no separate figure for unauthenticated price calls); both
answer 429 when exceeded. No key. One call per asset, run concurrently: the Exchange product
ticker (price, 24h volume, trade time); for an asset the Exchange does not list (404), the App
API spot price, which has no time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel, RootModel

from cryptoagg.core.assets import Asset
from cryptoagg.core.errors import NotSupported, UpstreamNotFound
from cryptoagg.core.limits import Limits
from cryptoagg.core.models import Capability, ListedAsset, Quote
from cryptoagg.providers.base import HttpProvider
from cryptoagg.providers.shapes import Recording

NAME = "coinbase"
EXCHANGE = "exchange"
QUOTE = "USD"

# -- payload models ------------------------------------------------------------------------


class _ProductTicker(BaseModel):
    price: Decimal
    volume: Decimal | None = None
    # the live API stamps nanoseconds; pydantic keeps the first six digits
    time: datetime


class _SpotData(BaseModel):
    amount: Decimal
    base: str
    currency: str


class _Spot(BaseModel):
    data: _SpotData


class _Product(BaseModel):
    id: str
    base_currency: str
    quote_currency: str
    status: str = "online"
    trading_disabled: bool = False


_Products = RootModel[list[_Product]]

# -- parse functions -----------------------------------------------------------------------


def parse_product_ticker(payload: Any, asset: Asset) -> Quote:
    """Exchange `/products/{id}/ticker` (fixtures: coinbase/exchange_product_ticker.json,
    coinbase/exchange_product_ticker_live_capture.json). `volume` is in the base asset."""
    tick = _ProductTicker.model_validate(payload)
    return Quote(
        asset_id=asset.id,
        provider=NAME,
        price=tick.price,
        as_of=tick.time,
        volume_24h=tick.volume * tick.price if tick.volume is not None else None,
    )


def parse_spot(payload: Any, asset: Asset, now: datetime) -> Quote:
    """App API `/v2/prices/{pair}/spot` (fixtures: coinbase/v2_prices_spot.json,
    coinbase/v2_prices_spot_eth_recent.json; their key orders differ). The payload has no
    time: the quote is stamped `now`, the receive time, and marked so."""
    data = _Spot.model_validate(payload).data
    if data.currency != QUOTE:
        raise ValueError(f"spot price in {data.currency}")
    return Quote(
        asset_id=asset.id, provider=NAME, price=data.amount, as_of=now, time_source="received"
    )


def parse_products(payload: Any) -> list[ListedAsset]:
    """Exchange `/products` (fixture: coinbase/exchange_products_sandbox.json): USD only."""
    return [
        ListedAsset(
            provider=NAME,
            native_id=p.base_currency,
            symbol=p.base_currency,
            active=p.status == "online" and not p.trading_disabled,
        )
        for p in _Products.model_validate(payload).root
        if p.quote_currency == QUOTE
    ]


# -- symbol mapping ------------------------------------------------------------------------


def product_id(base: str) -> str:
    """Coinbase product / currency pair of `base` against USD: `BTC` -> `BTC-USD`."""
    return f"{base}-{QUOTE}"


def gathered(outcomes: Sequence[Quote | BaseException]) -> list[Quote]:
    """Combine per-asset outcomes: not-found assets are skipped; any other failure is raised
    (it says something about Coinbase's health); if every asset failed, the first error."""
    quotes = [o for o in outcomes if isinstance(o, Quote)]
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    for error in errors:
        if not isinstance(error, UpstreamNotFound):
            raise error
    if errors and not quotes:
        raise errors[0]
    return quotes


class CoinbaseProvider(HttpProvider):
    name = NAME
    order = 40
    # Exchange public endpoints: 10 requests/s per IP
    limits = Limits(per_second=10)
    hosts: ClassVar[dict[str, str]] = {
        "": "https://api.coinbase.com",
        EXCHANGE: "https://api.exchange.coinbase.com",
    }
    capabilities = frozenset({Capability.SPOT_PRICE, Capability.LISTING})
    docs_url = "https://docs.cdp.coinbase.com/exchange/reference/exchangerestapi_getproductticker"
    per_asset_quotes = True
    shapes = (
        Recording(
            "/products/BTC-USD/ticker",
            "coinbase/exchange_product_ticker_live_capture.json",
            lambda p, s: parse_product_ticker(p, s.asset("bitcoin")),
        ),
    )

    async def _quote(self, base: str, asset: Asset) -> Quote:
        pid = product_id(base)
        try:
            payload = await self.get_json(f"/products/{pid}/ticker", host=EXCHANGE)
        except UpstreamNotFound:
            spot = await self.get_json(f"/v2/prices/{pid}/spot")
            with self.parsing("v2 spot"):
                return parse_spot(spot, asset, self.now())
        with self.parsing("product ticker"):
            return parse_product_ticker(payload, asset)

    async def spot_prices(self, assets: Sequence[Asset]) -> list[Quote]:
        wanted = self.native_ids(assets)
        if not wanted:
            raise NotSupported(NAME, "none of the assets is listed")
        outcomes = await asyncio.gather(
            *(self._quote(base, asset) for base, asset in wanted.items()),
            return_exceptions=True,
        )
        return gathered(outcomes)

    async def listing(self) -> list[ListedAsset]:
        payload = await self.get_json("/products", host=EXCHANGE)
        with self.parsing("products"):
            return parse_products(payload)
