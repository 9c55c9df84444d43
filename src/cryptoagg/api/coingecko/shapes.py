"""Our data in CoinGecko v3's shapes, for the `/api/v3` compatibility routes: the
conversions every endpoint shares, and `simple/price`'s entry.

Field names, order and JSON types follow CoinGecko's recorded payloads
(`tests/fixtures/providers/coingecko/`). We are USD-based, so `usd` is the only currency.
A field we have no data for is present with `null`, never left out, so clients that index it
get `None` rather than a `KeyError`. A few fields are derived from what the markets listing
carries (each derivation is named where it is made; `shapes_markets.DERIVED` lists those of
`coins/markets`), and only when the listing's provider did not send the figure itself; none
is invented. The rows of `coins/markets` are `shapes_markets.py`, the items of
`search/trending` `shapes_trending.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Context, Decimal
from statistics import median
from typing import Any

from cryptoagg.core.consensus import Consensus
from cryptoagg.core.errors import InvalidInput
from cryptoagg.core.models import MarketEntry, utc

CURRENCY = "usd"
#: `precision=`: CoinGecko's values, `full` or 0 to 18 decimal places
PRECISIONS = ("full", *(str(places) for places in range(19)))
#: wide enough to quantize a market cap to 18 decimal places without losing a digit
_WIDE = Context(prec=80)


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
    """`precision` as decimal places; None (absent, empty or `full`): as computed. Anything
    else — blanks included — is refused."""
    if raw is None or raw in ("", "full"):
        return None
    if raw not in PRECISIONS:
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
