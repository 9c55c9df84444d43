"""`coins/markets` rows from our markets listing, in CoinGecko's shape, order and filters.

The row's fields follow CoinGecko's recorded payload (coins_markets.json). Two figures may be
derived from what the listing carries, only when the listing's provider did not send them
(`DERIVED`, also listed in the endpoint's docs); every other unknown figure is null.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from cryptoagg.api.coingecko.shapes import circulating_supply, iso_ms, rounded
from cryptoagg.core.models import MarketEntry

#: `coins/markets?price_change_percentage=`: the timeframes CoinGecko accepts
CHANGE_TIMEFRAMES = ("1h", "24h", "7d", "14d", "30d", "200d", "1y")
MARKET_ORDERS = (
    "market_cap_desc",
    "market_cap_asc",
    "volume_desc",
    "volume_asc",
    "id_asc",
    "id_desc",
)


def _change_24h(price: Decimal, pct: Decimal | None) -> Decimal | None:
    """The 24h change in USD, from the price now and the change in per cent."""
    if pct is None or pct <= -100:
        return None
    return price - price / (1 + pct / 100)


#: the `coins/markets` fields we may compute rather than pass on, and how (for the docs)
DERIVED = {
    "circulating_supply": "market_cap / current_price, only when the listing's provider did "
    "not send its circulating supply",
    "price_change_24h": "from current_price and price_change_percentage_24h (the listings "
    "send the per cent change only)",
}


def market_row(
    entry: MarketEntry,
    changes: Sequence[str] = (),
    sparkline: bool = False,
    places: int | None = None,
) -> dict[str, Any]:
    """One row of `coins/markets` (recorded: coins_markets.json). We know price, market cap
    and rank, volume, the 24h change and, from some listings, the circulating supply; the USD
    change is derived, and so is the circulating supply when the listing lacks it (`DERIVED`);
    highs, lows, the other supplies, ATH/ATL and ROI are null. `places` (`precision`) rounds
    the amounts in USD."""
    price, pct = entry.price, entry.change_24h_pct
    row: dict[str, Any] = {
        "id": entry.asset_id,
        "symbol": entry.symbol.lower(),
        "name": entry.name,
        "image": None,
        "current_price": rounded(price, places),
        "market_cap": rounded(entry.market_cap, places),
        "market_cap_rank": entry.rank,
        "fully_diluted_valuation": None,
        "total_volume": rounded(entry.volume_24h, places),
        "high_24h": None,
        "low_24h": None,
        "price_change_24h": rounded(_change_24h(price, pct), places),
        "price_change_percentage_24h": pct,
        "market_cap_change_24h": None,
        "market_cap_change_percentage_24h": None,
        "circulating_supply": circulating_supply(entry),
        "total_supply": None,
        "max_supply": None,
        "ath": None,
        "ath_change_percentage": None,
        "ath_date": None,
        "atl": None,
        "atl_change_percentage": None,
        "atl_date": None,
        "roi": None,
        "last_updated": iso_ms(entry.as_of),
    }
    if sparkline:
        row["sparkline_in_7d"] = None
    for timeframe in changes:
        row[f"price_change_percentage_{timeframe}_in_currency"] = (
            pct if timeframe == "24h" else None
        )
    return row


def order_markets(entries: Sequence[MarketEntry], order: str) -> list[MarketEntry]:
    """Sort like CoinGecko's `order=`. Market cap order is rank order (CoinGecko's
    `market_cap_rank` is that order, and the listings come ranked); coins without the
    figure come last either way."""
    if order.startswith("id_"):
        return sorted(entries, key=lambda e: e.asset_id, reverse=order == "id_desc")
    known: list[MarketEntry]
    if order.startswith("market_cap"):
        known = sorted((e for e in entries if e.rank is not None), key=lambda e: e.rank or 0)
    else:
        with_volume = [e for e in entries if e.volume_24h is not None]
        known = sorted(with_volume, key=lambda e: e.volume_24h or 0, reverse=True)
    ordered = {id(e) for e in known}
    rest = [e for e in entries if id(e) not in ordered]
    return (known if order.endswith("_desc") else known[::-1]) + rest


def filter_markets(
    entries: Sequence[MarketEntry],
    ids: Sequence[str],
    names: Sequence[str],
    symbols: Sequence[str],
    all_tokens: bool,
) -> list[MarketEntry]:
    """CoinGecko's lookup priority: `ids`, else `names`, else `symbols`. A symbol keeps only
    its top-ranked coin unless `include_tokens=all` (the listing is ranked already)."""
    if ids:
        wanted = set(ids)
        return [e for e in entries if e.asset_id in wanted]
    if names:
        lowered = {n.lower() for n in names}
        return [e for e in entries if e.name.lower() in lowered]
    if symbols:
        lowered = {s.lower() for s in symbols}
        rows = [e for e in entries if e.symbol.lower() in lowered]
        if all_tokens:
            return rows
        firsts: dict[str, MarketEntry] = {}
        for e in rows:
            firsts.setdefault(e.symbol.lower(), e)
        return [e for e in rows if firsts[e.symbol.lower()] is e]
    return list(entries)
