"""Our data in CoinGecko v3's shapes, for the `/api/v3` compatibility routes.

Field names, order and JSON types follow CoinGecko's recorded payloads
(`tests/fixtures/providers/coingecko/`). We are USD-based, so `usd` is the only currency.
A field we have no data for is present with `null`, never left out, so clients that index it
get `None` rather than a `KeyError`. A few fields are derived from what the markets listing
carries (each derivation is named where it is made, and listed in `DERIVED`), and only when
the listing's provider did not send the figure itself; none is invented.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Context, Decimal
from statistics import median
from typing import Any

from cryptoagg.core.consensus import Consensus
from cryptoagg.core.errors import InvalidInput
from cryptoagg.core.models import MarketEntry, TrendingCoin, utc

CURRENCY = "usd"
SIXTEEN_DIGITS = Context(prec=16)
#: `precision=`: CoinGecko's values, `full` or 0 to 18 decimal places
PRECISIONS = ("full", *(str(places) for places in range(19)))
#: wide enough to quantize a market cap to 18 decimal places without losing a digit
_WIDE = Context(prec=80)
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


def iso_ms(at: datetime) -> str:
    """CoinGecko's timestamps: UTC, milliseconds, `Z` (`2024-04-07T16:49:31.736Z`)."""
    at = utc(at)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def csv(raw: str | None) -> list[str]:
    """A comma-separated parameter, blanks dropped, duplicates dropped, order kept."""
    if not raw:
        return []
    return list(dict.fromkeys(p.strip() for p in raw.split(",") if p.strip()))


def flag(raw: str | None) -> bool:
    """CoinGecko's boolean parameters are the strings `true` and `false`."""
    return raw is not None and raw.strip().lower() == "true"


def parse_precision(raw: str | None) -> int | None:
    """`precision` as decimal places; None (absent, empty or `full`): as computed."""
    if raw is None or raw.strip() in ("", "full"):
        return None
    if raw.strip() not in PRECISIONS:
        raise InvalidInput("precision must be full or 0 to 18")
    return int(raw)


def rounded(value: Decimal | None, places: int | None) -> Decimal | int | None:
    """An amount in USD rounded half up to `places` decimal places (0: an integer); None:
    unchanged. `precision` rounds amounts only: per cent changes, supplies, BTC amounts and
    times are never rounded."""
    if value is None or places is None:
        return value
    exact = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=_WIDE)
    return int(exact) if places == 0 else exact


def _median(values: Iterable[Decimal | None]) -> Decimal | None:
    known = [v for v in values if v is not None]
    return Decimal(median(known)) if known else None


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


def circulating_supply(entry: MarketEntry) -> Decimal | None:
    """The provider's own circulating supply when its listing sent one; else market cap over
    price (how CoinGecko and the other listings compute market cap)."""
    if entry.circulating_supply is not None:
        return entry.circulating_supply
    if entry.market_cap is None or entry.price <= 0:
        return None
    return entry.market_cap / entry.price


# -- simple/price ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SimpleFlags:
    market_cap: bool = False
    volume: bool = False
    change: bool = False
    last_updated: bool = False

    @property
    def needs_listing(self) -> bool:
        return self.market_cap or self.volume or self.change


def simple_price_entry(
    consensus: Consensus,
    listed: MarketEntry | None,
    usd: bool,
    flags: SimpleFlags,
    places: int | None = None,
) -> dict[str, Any]:
    """One coin of `simple/price`. The price is our consensus. Market cap, volume and change
    come from the markets listing (one aggregator's figures, the same as `coins/markets`);
    for a coin outside the listing, the median of what the consensus quotes carried (an
    exchange's quote carries its own volume only). No supported currency asked: `{}`, as
    CoinGecko answers for a currency it does not know. `places` (`precision`) rounds the
    price, market cap and volume."""
    if not usd:
        return {}
    entry: dict[str, Any] = {CURRENCY: rounded(consensus.price, places)}
    quotes = consensus.used
    if flags.market_cap:
        cap = listed.market_cap if listed else _median(q.market_cap for q in quotes)
        entry["usd_market_cap"] = rounded(cap, places)
    if flags.volume:
        volume = listed.volume_24h if listed else _median(q.volume_24h for q in quotes)
        entry["usd_24h_vol"] = rounded(volume, places)
    if flags.change:
        change = listed.change_24h_pct if listed else _median(q.change_24h_pct for q in quotes)
        entry["usd_24h_change"] = change
    if flags.last_updated:
        entry["last_updated_at"] = int(consensus.as_of.timestamp())
    return entry


# -- coins/markets -----------------------------------------------------------------------


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


# -- search/trending ---------------------------------------------------------------------


def _usd_text(value: Decimal | None) -> str | None:
    return None if value is None else f"${value:,.0f}"


def _btc_text(value: Decimal | None, btc_usd: Decimal | None) -> str | None:
    """A BTC amount as CoinGecko writes it: a decimal string, 16 significant digits."""
    if value is None or not btc_usd:
        return None
    return f"{SIXTEEN_DIGITS.divide(value, btc_usd):f}"


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


def _figure(
    ours: Decimal | None, theirs: Decimal | None, theirs_btc: Decimal | None, btc: Decimal | None
) -> tuple[str | None, str | None]:
    """A trending amount as CoinGecko's USD and BTC texts: the listing's figure (in BTC at
    our bitcoin price) when the coin is listed with it, else the trending provider's own."""
    if ours is not None:
        return _usd_text(ours), _btc_text(ours, btc) or _text(theirs_btc)
    return _usd_text(theirs), _text(theirs_btc)


#: what `search/trending` fills in when its provider left it out (for the docs)
TRENDING_FALLBACKS = {
    "market_cap_rank": "the listing's rank",
    "small, large, thumb": "another size of the coin's image the provider sent",
    "data.price": "price_btc x our bitcoin price, for a coin outside the listing",
}


def trending_item(
    coin: TrendingCoin, listed: MarketEntry | None, btc_usd: Decimal | None
) -> dict[str, Any]:
    """One `coins[].item` of `search/trending` (recorded: search_trending.json): every field
    the provider sent (its ids, slug, image URLs, sparkline URL, BTC figures). `data` takes
    the price, market cap, volume and USD change from the markets listing when the coin is
    in it (the figures `coins/markets` serves), the provider's otherwise; the USD price of a
    coin outside the listing is its `price_btc` at our bitcoin price. A field neither sent
    nor derivable (`TRENDING_FALLBACKS`) is null."""
    price = listed.price if listed else None
    if price is None and coin.price_btc is not None and btc_usd:
        price = coin.price_btc * btc_usd
    cap, cap_btc = _figure(
        listed.market_cap if listed else None, coin.market_cap, coin.market_cap_btc, btc_usd
    )
    volume, volume_btc = _figure(
        listed.volume_24h if listed else None, coin.volume_24h, coin.volume_24h_btc, btc_usd
    )
    usd_change = listed.change_24h_pct if listed else None
    if usd_change is None:
        usd_change = coin.change_24h_pct
    changes = {"btc": coin.change_24h_btc_pct, CURRENCY: usd_change}
    images = [coin.thumb, coin.small, coin.large]
    sent = next((url for url in images if url), None)
    content = None
    if coin.content_title is not None or coin.content_description is not None:
        content = {"title": coin.content_title, "description": coin.content_description}
    return {
        "id": coin.asset_id,
        "coin_id": coin.coin_id,
        "name": coin.name,
        "symbol": coin.symbol,
        "market_cap_rank": coin.market_cap_rank
        if coin.market_cap_rank is not None
        else (listed.rank if listed else None),
        "thumb": coin.thumb or sent,
        "small": coin.small or sent,
        "large": coin.large or sent,
        "slug": coin.slug,
        "price_btc": coin.price_btc,
        "score": coin.score,
        "data": {
            "price": price,
            "price_btc": _text(coin.price_btc),
            "price_change_percentage_24h": {k: v for k, v in changes.items() if v is not None},
            "market_cap": cap,
            "market_cap_btc": cap_btc,
            "total_volume": volume,
            "total_volume_btc": volume_btc,
            "sparkline": coin.sparkline,
            "content": content,
        },
    }
