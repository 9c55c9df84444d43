"""The markets listing behind several `/api/v3` answers, and how their staleness is told.

`simple/price`, `search/trending` and `coins/{id}/market_chart` take figures from the markets
listing (market caps, volumes, changes, supply) beside their own data. A listing no provider
can give makes those figures null or taken from elsewhere, never an error; a stale one makes
the answer stale. CoinGecko's bodies have no room for either, so staleness is a header.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TypeVar

import structlog

from cryptoagg.bootstrap.container import Services
from cryptoagg.core.errors import CryptoAggError
from cryptoagg.core.models import MarketEntry
from cryptoagg.services.context import Served
from cryptoagg.services.market import MARKETS_PAGE

log = structlog.get_logger("cryptoagg.api.coingecko")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Listing:
    """The listing by asset id, its version and whether it is stale (None: unavailable)."""

    entries: dict[str, MarketEntry]
    version: object = None
    stale: bool = False


async def load_listing(services: Services) -> Listing:
    """The listing; empty when no provider can give it (the figures it adds are then null
    or taken from elsewhere, never an error)."""
    try:
        served = await services.market.market((), MARKETS_PAGE)
    except CryptoAggError as exc:
        log.info("coingecko_compat_without_listing", error=exc.message)
        return Listing({})
    return Listing({e.asset_id: e for e in served.value.entries}, served.version, served.stale)


def stale_header(stale: bool) -> dict[str, str]:
    """CoinGecko's bodies have no room for it: whether the data is stale is a header (with
    `Age`, the data's age in seconds)."""
    return {"X-Data-Stale": "true" if stale else "false"}


def with_listing(served: Served[T], listing: Listing) -> Served[T]:
    """`served`, whose rendering also depends on `listing`."""
    stale = served.stale or listing.stale
    return replace(served, stale=stale, version=(served.version, listing.version))
