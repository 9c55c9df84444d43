"""One chunk of candles from the OHLCV pool, and how a fill reads the pool's refusals.

A chunk is asked of the providers in the pool's order; the first answer that covers it
(`FULL_COVERAGE`: a market with no trade in a minute has no candle for it) is taken. When
none covers all of it (a listing date inside the chunk, a provider's shorter window), the
fullest part is, and when every provider said it has no older data, so is the open time
before which nothing exists: the history service raises the asset's floor there.
"""

from __future__ import annotations

from datetime import datetime

from cryptoagg.core.assets import Asset
from cryptoagg.core.candles import Span
from cryptoagg.core.errors import NoProviderAvailable, UpstreamNotFound
from cryptoagg.core.models import Candle
from cryptoagg.core.ports import Provider
from cryptoagg.resilience.pool import ProviderPool

#: a provider's answer covering this share of a chunk is taken as complete (markets with
#: no trades in a minute may have no candle for it)
FULL_COVERAGE = 0.9
#: failure reasons that mean "there is no such data", not "try again later"
NO_DATA = ("not_found", "not_supported", "disabled")
#: reasons that only say "not this second": a paced fill waits and asks again
NOT_NOW = ("budget_exhausted", "rate_limited")


def no_data(exc: NoProviderAvailable) -> bool:
    """Every provider refused because it has no such data."""
    return bool(exc.reasons) and all(r.startswith(NO_DATA) for r in exc.reasons.values())


def over_budget(exc: NoProviderAvailable) -> bool:
    """Some provider refused only because of its rate budget (the rest have no such data)."""
    reasons = exc.reasons.values()
    return any(r.startswith(NOT_NOW) for r in reasons) and all(
        r.startswith(NOT_NOW + NO_DATA) for r in reasons
    )


async def fetch_chunk(
    pool: ProviderPool, asset: Asset, chunk: Span
) -> tuple[list[Candle], datetime | None]:
    """The chunk from the first provider that covers it; when none covers all of it, the
    fullest part. Also the open time before which no provider has data, when every provider
    said so."""
    partial: list[list[Candle]] = []

    async def call(provider: Provider) -> list[Candle]:
        rows = await provider.ohlcv(asset, chunk.interval, chunk.start, chunk.end)
        rows = [c for c in rows if chunk.start <= c.open_time <= chunk.end]
        if len(rows) >= chunk.count * FULL_COVERAGE:
            return rows
        if rows:
            partial.append(rows)
        raise UpstreamNotFound(
            provider.name, f"{len(rows)} of {chunk.count} {chunk.interval.value} candles"
        )

    try:
        return (await pool.first(call)).value, None
    except NoProviderAvailable as exc:
        if not partial:
            raise
        best = max(partial, key=len)
        first = min(c.open_time for c in best)
        return best, first if no_data(exc) and first > chunk.start else None
