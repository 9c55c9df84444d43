"""CoinPaprika API v1 — https://api.coinpaprika.com/

Limits: free plan 20,000 calls a month (personal, non-commercial use); no key. One
`/v1/tickers` call returns every coin, so spot prices and the market listing share it.
Ids are `<symbol>-<slug>` (`btc-bitcoin`); an unknown id answers HTTP 404 `{"error": "id not
found"}`, which the base maps to `UpstreamNotFound`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel, RootModel

from cryptoagg.core.assets import Asset, AssetRegistry
from cryptoagg.core.errors import NotSupported
from cryptoagg.core.limits import Limits
from cryptoagg.core.models import Capability, ListedAsset, MarketEntry, Quote
from cryptoagg.providers.base import HttpProvider
from cryptoagg.providers.shapes import Recording

NAME = "coinpaprika"

# -- payload models ------------------------------------------------------------------------
# Only the fields we read: the 2020 schema has `circulating_supply` and no `first_data_at`,
# the 2024/2026 ones the reverse; the listing keeps `circulating_supply` when it is sent.


class _Usd(BaseModel):
    price: Decimal
    volume_24h: Decimal | None = None
    market_cap: Decimal | None = None
    percent_change_24h: Decimal | None = None


class _Quotes(BaseModel):
    USD: _Usd


class _Ticker(BaseModel):
    id: str
    name: str
    symbol: str
    rank: int | None = None
    circulating_supply: Decimal | None = None
    last_updated: datetime
    quotes: _Quotes


_Tickers = RootModel[list[_Ticker]]


class _Coin(BaseModel):
    id: str
    name: str
    symbol: str
    is_active: bool = True


_Coins = RootModel[list[_Coin]]

# -- parse functions -----------------------------------------------------------------------


def _tickers(payload: Any) -> list[_Ticker]:
    """`/v1/tickers` is a list; `/v1/tickers/{id}` is one object of the same shape."""
    return _Tickers.model_validate(payload if isinstance(payload, list) else [payload]).root


def parse_tickers(payload: Any, by_id: dict[str, Asset]) -> list[Quote]:
    """`/v1/tickers` (fixtures: coinpaprika/tickers.json, tickers_btc-bitcoin.json,
    tickers_bsv-bitcoin-sv_2020.json). Keeps only the tickers named in `by_id`."""
    return [
        Quote(
            asset_id=by_id[t.id].id,
            provider=NAME,
            price=t.quotes.USD.price,
            as_of=t.last_updated,
            volume_24h=t.quotes.USD.volume_24h,
            change_24h_pct=t.quotes.USD.percent_change_24h,
            market_cap=t.quotes.USD.market_cap,
        )
        for t in _tickers(payload)
        if t.id in by_id
    ]


def canonical_id(paprika_id: str, symbol: str, registry: AssetRegistry) -> str:
    """The registry's id, else the paprika id without its ticker prefix (btc-bitcoin -> bitcoin)."""
    known = registry.by_native(NAME, paprika_id)
    if known is not None:
        return known.id
    return paprika_id.removeprefix(f"{symbol.lower()}-") or paprika_id


def parse_markets(payload: Any, registry: AssetRegistry, limit: int) -> list[MarketEntry]:
    """`/v1/tickers` as a market listing, by rank, unranked (0 or null) last
    (fixture: coinpaprika/tickers.json)."""
    ranked = sorted(_tickers(payload), key=lambda t: (not t.rank, t.rank or 0))
    return [
        MarketEntry(
            asset_id=canonical_id(t.id, t.symbol, registry),
            symbol=t.symbol.upper(),
            name=t.name,
            rank=t.rank or None,
            price=t.quotes.USD.price,
            as_of=t.last_updated,
            provider=NAME,
            change_24h_pct=t.quotes.USD.percent_change_24h,
            market_cap=t.quotes.USD.market_cap,
            volume_24h=t.quotes.USD.volume_24h,
            circulating_supply=t.circulating_supply,
        )
        for t in ranked[: max(limit, 0)]
    ]


def parse_coins(payload: Any, registry: AssetRegistry) -> list[ListedAsset]:
    """`/v1/coins` (fixture: coinpaprika/coins.json)."""
    listed = []
    for coin in _Coins.model_validate(payload).root:
        known = registry.by_native(NAME, coin.id)
        listed.append(
            ListedAsset(
                provider=NAME,
                native_id=coin.id,
                symbol=coin.symbol.upper(),
                name=coin.name,
                asset_id=known.id if known else None,
                active=coin.is_active,
            )
        )
    return listed


class CoinPaprikaProvider(HttpProvider):
    name = NAME
    order = 50
    # free plan: 20,000 calls a month
    limits = Limits(per_minute=60, monthly=20_000)
    hosts: ClassVar[dict[str, str]] = {"": "https://api.coinpaprika.com"}
    capabilities = frozenset({Capability.SPOT_PRICE, Capability.MARKETS, Capability.LISTING})
    docs_url = "https://api.coinpaprika.com/"
    shapes = (
        Recording(
            "/v1/tickers",
            "coinpaprika/tickers.json",
            lambda p, s: parse_tickers(p, {"btc-bitcoin": s.asset("bitcoin")}),
        ),
    )

    async def _all_tickers(self) -> Any:
        return await self.get_json("/v1/tickers", params={"quotes": "USD"})

    async def spot_prices(self, assets: Sequence[Asset]) -> list[Quote]:
        by_id = self.native_ids(assets)
        if not by_id:
            raise NotSupported(NAME, "none of the assets is listed")
        payload = await self._all_tickers()
        with self.parsing("tickers"):
            return parse_tickers(payload, by_id)

    async def markets(self, limit: int) -> list[MarketEntry]:
        payload = await self._all_tickers()
        with self.parsing("tickers"):
            return parse_markets(payload, self.ctx.registry, limit)

    async def listing(self) -> list[ListedAsset]:
        payload = await self.get_json("/v1/coins")
        with self.parsing("coins"):
            return parse_coins(payload, self.ctx.registry)
