"""What every simulated provider shares: the clock, the price model seen through each
provider's bias, faults, call counts, and small helpers to write provider-style payloads.

Providers disagree like real ones: each (provider, asset) pair has a fixed bias, drawn from the
seed, of a few basis points for majors and stablecoins up to `MAX_BIAS_BPS` for the long tail,
so two providers' quotes of an asset differ by up to twice that. Listings rank by the market
cap each provider reports (circulating supply x its own price): rank 1 is the largest cap.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from cryptoagg.core.assets import Asset
from cryptoagg.sim.faults import FaultBook
from cryptoagg.sim.market import STABLE_IDS, Bar, Ohlc, PriceModel, rng_for
from cryptoagg.sim.stats import CallStats

Handler = Callable[[Request], Awaitable[Response]]
#: (full path, handler) pairs that `create_sim_app` registers as GET routes
Routes = list[tuple[str, Handler]]
#: what a simulated 429 carries unless the provider records its own
GENERIC_RATE_LIMIT: dict[str, object] = {"error": "Too Many Requests", "status": 429}


@dataclass(frozen=True, slots=True)
class SimProvider:
    """One simulated provider, declared by its module in a module-level `SIMULATED` tuple
    (`sim/catalog.py` finds them): the name it is served under (`/{name}/...`, the adapter's
    `name`) and its routes; the fault layer reads the rest."""

    name: str
    routes: Callable[[SimState], Routes]
    #: the body of a simulated 429: the provider's recorded one, or a generic one
    rate_limit_body: object = field(default_factory=lambda: GENERIC_RATE_LIMIT)
    #: answers RSS: a `malformed` fault cuts an XML body rather than a JSON one
    feed: bool = False


#: the price multiplier of an `outlier` fault that fired for the request being served
OUTLIER_FACTOR: ContextVar[float] = ContextVar("sim_outlier_factor", default=1.0)
#: how far a provider's quotes sit from the walk, at most, in basis points: majors and
#: stablecoins stay within a few, the long tail wanders up to this
MAX_BIAS_BPS = 20.0
STABLE_BIAS_BPS = 2.0


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class SimState:
    seed: int = 1
    clock: Callable[[], datetime] = utcnow
    model: PriceModel = field(init=False)
    faults: FaultBook = field(init=False)
    stats: CallStats = field(default_factory=CallStats)
    #: set when the server shuts down, so held (`timeout`/`slow`) requests let go
    closing: bool = False
    _bias: dict[tuple[str, str], float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.model = PriceModel(self.seed)
        self.faults = FaultBook(self.seed, self.clock)

    def close(self) -> None:
        self.closing = True

    def now(self) -> datetime:
        return self.clock()

    def now_s(self) -> float:
        return self.clock().timestamp()

    def bias_bps(self, asset_id: str) -> float:
        """The widest bias a provider may have for the asset: wider down the ranks."""
        if asset_id in STABLE_IDS:
            return STABLE_BIAS_BPS
        return min(3.0 + 0.3 * self.model.rank(asset_id), MAX_BIAS_BPS)

    def scale(self, provider: str, asset_id: str) -> float:
        """The provider's fixed bias for the asset times any outlier factor."""
        key = (provider, asset_id)
        if key not in self._bias:
            rng = rng_for(self.seed, provider, asset_id, "bias")
            # at least a fifth of the widest, either way: no provider sits exactly on the walk
            size = rng.uniform(0.2, 1.0) * self.bias_bps(asset_id) / 10_000
            self._bias[key] = 1 + size * rng.choice((-1, 1))
        return self._bias[key] * OUTLIER_FACTOR.get()

    def price(self, provider: str, asset_id: str, at: float | None = None) -> float:
        """The USD price `provider` reports at `at` (default now)."""
        at = self.now_s() if at is None else at
        return self.model.usd(asset_id, at) * self.scale(provider, asset_id)

    def ohlc(self, provider: str, asset_id: str, start: float, end: float) -> Ohlc:
        k = self.scale(provider, asset_id)
        o, h, low, c = self.model.ohlc(asset_id, start, end)
        return o * k, h * k, low * k, c * k

    def bars(
        self, provider: str, asset_id: str, width_s: int, start: float, end: float, *, limit: int
    ) -> list[Bar]:
        k = self.scale(provider, asset_id)
        raw = self.model.bars(asset_id, width_s, start, end, now=self.now_s(), limit=limit)
        return [
            replace(b, open=b.open * k, high=b.high * k, low=b.low * k, close=b.close * k)
            for b in raw
        ]

    def market_cap(self, provider: str, asset_id: str, at: float | None = None) -> float:
        """The market cap `provider` reports: circulating supply x its own price."""
        return self.model.supply(asset_id) * self.price(provider, asset_id, at)

    def ranked(self, provider: str, at: float | None = None) -> list[Asset]:
        """Every seeded asset by the market cap `provider` reports at `at`, largest first."""
        at = self.now_s() if at is None else at
        caps = {a.id: self.market_cap(provider, a.id, at) for a in self.model.assets}
        return sorted(self.model.assets, key=lambda a: -caps[a.id])

    def ranks(self, provider: str, at: float | None = None) -> dict[str, int]:
        """asset id -> rank (1 = largest market cap) in `provider`'s listing at `at`."""
        return {a.id: i for i, a in enumerate(self.ranked(provider, at), start=1)}

    def listed(self, provider: str) -> list[tuple[Asset, str]]:
        """(asset, native id) of every seeded asset the provider lists, in the seed's order
        (a listing endpoint orders by `ranked` at the time of the request)."""
        return [(a, n) for a in self.model.assets if (n := a.native_id(provider)) is not None]


# -- payload helpers -----------------------------------------------------------------------


def json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status, headers, media_type="application/json")


def fixed(value: float, places: int = 8) -> str:
    """A decimal string with `places` decimals and no exponent, as exchanges print prices."""
    return f"{value:.{places}f}"


def places_for(value: float, minimum: int = 2, significant: int = 6) -> int:
    """Decimals that keep `significant` digits of a price (SHIB needs more than BTC)."""
    if value <= 0:
        return minimum
    return max(minimum, significant - 1 - math.floor(math.log10(value)))


def price_str(value: float, minimum: int = 2) -> str:
    return fixed(value, places_for(value, minimum))


def iso_z(at: datetime, timespec: str = "seconds") -> str:
    """`2026-11-23T09:00:00Z` (or with fractions, per `timespec`)."""
    return at.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def from_s(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def int_param(request: Request, name: str, default: int) -> int | None:
    """An integer query parameter, `default` when absent, None when it is not an integer."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        return None


def csv_param(request: Request, name: str) -> list[str]:
    return [p.strip() for p in request.query_params.get(name, "").split(",") if p.strip()]
