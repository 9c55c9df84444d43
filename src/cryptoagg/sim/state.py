"""What every simulated provider shares: the clock, the price model, faults and call counts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.responses import Response

from cryptoagg.sim.faults import CallStats, FaultBook
from cryptoagg.sim.market import PriceModel

PROVIDERS = (
    "coingecko",
    "binance",
    "kraken",
    "coinbase",
    "coinpaprika",
    "coincap",
    "cryptocompare",
    "messari",
    "alternative_me",
    "defillama",
    "coindesk",
    "cointelegraph",
    "decrypt",
    "cryptopanic",
)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class SimState:
    seed: int = 1
    clock: Callable[[], datetime] = utcnow
    model: PriceModel = field(init=False)
    faults: FaultBook = field(init=False)
    stats: CallStats = field(default_factory=CallStats)

    def __post_init__(self) -> None:
        self.model = PriceModel(self.seed)
        self.faults = FaultBook(self.seed, self.clock)

    def now(self) -> datetime:
        return self.clock()

    def price(self, provider: str, asset_id: str, at: datetime | None = None) -> float:
        """The price `provider` reports now, with an `outlier` fault applied if one fires."""
        fault = self.faults.pick(provider, outlier=True)
        factor = fault.factor if fault else 1.0
        return self.model.quote(asset_id, provider, at or self.now(), factor)

    def listed(self, provider: str) -> list[tuple[str, str]]:
        """(asset id, native id) of every seeded asset the provider lists, by rank."""
        return [
            (a.id, nid) for a in self.model.assets if (nid := a.native_id(provider)) is not None
        ]


def json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status, headers, media_type="application/json")
