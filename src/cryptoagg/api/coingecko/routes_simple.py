"""`GET /api/v3/simple/price`: consensus prices keyed as the client asked (CoinGecko id, coin
name or ticker), with the listing's market cap, volume and change when asked for.

Coins are looked up in CoinGecko's priority (`ids`, else `names`, else `symbols`); an
unknown or ambiguous one is left out, never guessed.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response

from cryptoagg.api.coingecko import shapes as cg
from cryptoagg.api.coingecko.errors import cg_error, compat_router, errors
from cryptoagg.api.coingecko.listing import Listing, load_listing, stale_header, with_listing
from cryptoagg.api.coingecko.params import MAX_IDS, Precision, coin_list
from cryptoagg.api.deps import ServicesDep
from cryptoagg.api.http.hot import ResponsesDep
from cryptoagg.api.openapi import WHITESPACE, required_in_document
from cryptoagg.api.render import render
from cryptoagg.core.assets import Asset, AssetRegistry
from cryptoagg.core.errors import CryptoAggError, InvalidInput

router = compat_router()

#: `simple/price`: `{id: {usd, usd_market_cap, ...}}` (plus `_mock` in mock mode)
SIMPLE_PRICE_SCHEMA = {
    "type": "object",
    "properties": {"_mock": {"type": "boolean", "description": "mock mode only"}},
    "additionalProperties": {
        "type": "object",
        "additionalProperties": {"anyOf": [{"type": "number"}, {"type": "null"}]},
    },
}


def _by_symbol(registry: AssetRegistry, symbol: str) -> Asset | None:
    """A ticker's asset, or None when unknown or ambiguous (never guessed)."""
    try:
        found = registry.resolve(symbol)
    except CryptoAggError:
        return None
    if found.asset.symbol.lower() != symbol.lower() and found.matched_by != "alias":
        return None  # matched an id or a name, not the ticker
    return found.asset


def _by_name(registry: AssetRegistry, name: str) -> Asset | None:
    """A coin name's asset (any case; a tracked one before others), or None when unknown or
    shared by several (never guessed)."""
    named = registry.named(name)
    pool = [a for a in named if a.tracked] or named
    return pool[0] if len(pool) == 1 else None


def _simple_keys(
    registry: AssetRegistry, ids: list[str], names: list[str], symbols: list[str]
) -> dict[str, Asset]:
    """Answer keys to assets, CoinGecko's lookup priority: ids as given, else names as
    given, else tickers keyed lowercase."""
    if ids:
        return {i: registry.get(i) for i in ids if i in registry}
    if names:
        found = {name: _by_name(registry, name) for name in names}
        return {name: asset for name, asset in found.items() if asset is not None}
    keyed = {}
    for symbol in symbols:
        asset = _by_symbol(registry, symbol)
        if asset is not None:
            keyed[symbol.lower()] = asset
    return keyed


@router.get(
    "/simple/price",
    summary="Consensus prices keyed by CoinGecko id (or name, or symbol)",
    responses={
        200: {"content": {"application/json": {"schema": SIMPLE_PRICE_SCHEMA}}},
        **errors(
            422,
            503,
            s422="a parameter is missing or not valid (`ids`, `names` or `symbols` must name "
            f"at least one coin; at most {MAX_IDS})",
        ),
    },
    openapi_extra=required_in_document("vs_currencies"),
)
async def simple_price(
    request: Request,
    services: ServicesDep,
    responses: ResponsesDep,
    *,
    ids: Annotated[
        str | None, coin_list(10_000, f"comma-separated CoinGecko ids (at most {MAX_IDS})")
    ] = None,
    names: Annotated[
        str | None,
        coin_list(10_000, f"comma-separated coin names, used without `ids` (at most {MAX_IDS})"),
    ] = None,
    symbols: Annotated[
        str | None,
        coin_list(
            5_000, f"comma-separated tickers, used without `ids` and `names` (at most {MAX_IDS})"
        ),
    ] = None,
    vs_currencies: Annotated[
        str | None,
        Query(
            max_length=1_000,
            description="comma-separated; only usd is served, others are left out",
            json_schema_extra={"pattern": f"[^,{WHITESPACE}]"},
        ),
    ] = None,
    include_market_cap: str | None = None,
    include_24hr_vol: str | None = None,
    include_24hr_change: str | None = None,
    include_last_updated_at: str | None = None,
    precision: Precision = None,
) -> Response:
    """`ids` (CoinGecko ids), else `names` (coin names, any case; the answer is keyed by
    the name as given), else `symbols` (tickers; keyed by the lowercase symbol, as CoinGecko
    does); unknown or ambiguous ones are left out, and so `include_tokens` changes nothing.
    Only `usd` is supported: other currencies are left out, so `vs_currencies=eur` gives
    `{"bitcoin": {}}`. `precision` rounds the price, market cap and volume."""
    by_id, by_name, by_symbol = cg.csv(ids), cg.csv(names), cg.csv(symbols)
    if not by_id and not by_name and not by_symbol:
        return cg_error(422, "Missing parameter ids")
    currencies = [c.lower() for c in cg.csv(vs_currencies)]
    if not currencies:
        return cg_error(422, "Missing parameter vs_currencies")
    if len(by_id or by_name or by_symbol) > MAX_IDS:
        raise InvalidInput(f"at most {MAX_IDS} ids, names or symbols per request")
    places = cg.parse_precision(precision)
    keyed = _simple_keys(services.assets.registry, by_id, by_name, by_symbol)
    if not keyed:
        return render({})
    flags = cg.SimpleFlags(
        market_cap=cg.flag(include_market_cap),
        volume=cg.flag(include_24hr_vol),
        change=cg.flag(include_24hr_change),
        last_updated=cg.flag(include_last_updated_at),
    )
    usd = cg.CURRENCY in currencies
    wanted = list(dict.fromkeys(a.id for a in keyed.values()))
    if flags.needs_listing and usd:
        served, listing = await asyncio.gather(
            services.prices.prices(wanted), load_listing(services)
        )
    else:
        served, listing = await services.prices.prices(wanted), Listing({})
    consensus = {r.value.asset.id: r.value.consensus for r in served.value.reports}
    answer = with_listing(served, listing)
    return responses.serve(
        request,
        answer,
        lambda: {
            key: cg.simple_price_entry(
                consensus[a.id], listing.entries.get(a.id), usd, flags, places
            )
            for key, a in keyed.items()
            if a.id in consensus
        },
        stale_header(answer.stale),
    )
