"""The simulator's price model: a seeded random walk per asset, in USD.

- Daily anchors: a cumulative sum of Gaussian log returns from `EPOCH` (2018-01-01), drawn in
  fixed chunks of `CHUNK` days from an RNG seeded by (seed, asset, chunk), so a day's level
  never depends on which days were asked for first. Levels are scaled so that the walk passes
  through `BASE_PRICES` on `REFERENCE_DAY`; history starts at `EPOCH`.
- Inside a day: a minute-level Brownian bridge between the day's two anchors, from an RNG
  seeded by (seed, asset, day) — so minute prices, candles of any width and live prices all come
  from one path and are reproducible.
- Stablecoins hover around their peg (anchors are independent small deviations, not a walk);
  wrapped/staked assets follow their underlying at a fixed ratio.

Hour and day summaries (open, high, low, close) are cached, so long candle ranges stay cheap.
Nothing here knows about providers or HTTP: `SimState` adds each provider's bias.
"""

from __future__ import annotations

import hashlib
import math
import random
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from itertools import accumulate

from cryptoagg.core.asset_seed import seed_assets
from cryptoagg.core.assets import Asset

EPOCH = datetime(2018, 1, 1, tzinfo=UTC)
EPOCH_S = int(EPOCH.timestamp())
REFERENCE_DAY = (datetime(2026, 11, 1, tzinfo=UTC) - EPOCH).days
DAY_S = 86_400
MINUTES = 1_440
CHUNK = 256
STABLE_IDS = frozenset({"tether", "usd-coin", "dai"})
#: asset -> (underlying, ratio): these follow another asset's walk
TRACKS = {"wrapped-bitcoin": ("bitcoin", 0.9996), "staked-ether": ("ethereum", 0.9991)}

#: USD level of each seeded asset on the reference day; the walk wanders from there
BASE_PRICES: dict[str, float] = {
    "bitcoin": 90000, "ethereum": 3000, "tether": 1, "ripple": 2.1, "binancecoin": 880,
    "solana": 140, "usd-coin": 1, "dogecoin": 0.16, "tron": 0.28, "cardano": 0.45,
    "staked-ether": 3000, "wrapped-bitcoin": 90000, "chainlink": 13, "avalanche-2": 14,
    "stellar": 0.25, "sui": 1.6, "hyperliquid": 35, "bitcoin-cash": 520,
    "hedera-hashgraph": 0.15, "litecoin": 90, "the-open-network": 1.6, "shiba-inu": 0.0000085,
    "polkadot": 2.6, "leo-token": 9, "monero": 380, "uniswap": 6.5, "dai": 1,
    "pepe": 0.0000045, "aptos": 2.8, "near": 2.2, "internet-computer": 4.5,
    "ethereum-classic": 13, "aave": 180, "crypto-com-chain": 0.11, "ondo-finance": 0.5,
    "mantle": 1.1, "render-token": 2.0, "cosmos": 2.8, "vechain": 0.015, "filecoin": 1.7,
    "algorand": 0.14, "arbitrum": 0.22, "optimism": 0.35, "injective-protocol": 6,
    "blockstack": 0.3, "the-graph": 0.05, "immutable-x": 0.35, "maker": 1500, "kaspa": 0.05,
    "okb": 110, "bittensor": 280, "fetch-ai": 0.25, "tezos": 0.55, "the-sandbox": 0.16,
    "decentraland": 0.17, "zcash": 550,
}  # fmt: skip

Ohlc = tuple[float, float, float, float]


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from `parts` that is the same in every process (unlike `hash`)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def uniform(low: float, high: float, *parts: object) -> float:
    """A reproducible uniform draw keyed by `parts` (much cheaper than seeding an RNG)."""
    return low + (high - low) * stable_seed(*parts) / 2.0**64


def rng_for(*parts: object) -> random.Random:
    return random.Random(stable_seed(*parts))  # noqa: S311 - simulation, not security


def _merge(parts: list[Ohlc]) -> Ohlc:
    return (
        parts[0][0],
        max(p[1] for p in parts),
        min(p[2] for p in parts),
        parts[-1][3],
    )


@dataclass(frozen=True, slots=True)
class Bar:
    """One candle in USD: `open_time` and `end` in seconds since the Unix epoch."""

    open_time: int
    end: float
    open: float
    high: float
    low: float
    close: float
    volume_usd: float


class PriceModel:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.assets: list[Asset] = sorted(seed_assets(), key=lambda a: a.rank or 999)
        self.by_id = {a.id: a for a in self.assets}
        self._levels: dict[str, list[float]] = {}
        self._minutes: Callable[[str, int], array[float]] = lru_cache(maxsize=2048)(
            self._make_minutes
        )
        self._hours: Callable[[str, int], array[float]] = lru_cache(maxsize=16_384)(
            self._make_hours
        )
        self._days: Callable[[str, int], Ohlc] = lru_cache(maxsize=65_536)(self._make_day)

    # -- the walk -------------------------------------------------------------------------

    def sigma(self, asset_id: str) -> float:
        """Daily log-return volatility: majors move less than the long tail."""
        rank = min(self.by_id[asset_id].rank or 60, 60)
        return 0.022 + 0.0004 * rank

    def _level(self, asset_id: str, day: int) -> float:
        """Log price at the start of `day` (days since EPOCH), without the base level."""
        if asset_id in STABLE_IDS:
            return rng_for(self.seed, asset_id, "peg", day).gauss(0.0, 0.0006)
        levels = self._levels.setdefault(asset_id, [0.0])
        sigma = self.sigma(asset_id)
        while len(levels) <= max(day, REFERENCE_DAY) + 1:
            rng = rng_for(self.seed, asset_id, "daily", (len(levels) - 1) // CHUNK)
            for _ in range(CHUNK):
                levels.append(levels[-1] + rng.gauss(0.0, sigma))
        return levels[day] - levels[REFERENCE_DAY]

    def _anchor(self, asset_id: str, day: int) -> float:
        """The USD price at 00:00 UTC of `day`: the first point of that day's minute path."""
        if asset_id in TRACKS:
            underlying, ratio = TRACKS[asset_id]
            return self._anchor(underlying, day) * ratio
        return BASE_PRICES.get(asset_id, 1.0) * math.exp(self._level(asset_id, day))

    def _make_minutes(self, asset_id: str, day: int) -> array[float]:
        """USD price at each minute of `day`: MINUTES + 1 points, both anchors included."""
        if asset_id in TRACKS:
            underlying, ratio = TRACKS[asset_id]
            return array("d", (p * ratio for p in self._minutes(underlying, day)))
        base = BASE_PRICES.get(asset_id, 1.0)
        start, end = self._level(asset_id, day), self._level(asset_id, day + 1)
        draw = rng_for(self.seed, asset_id, "minutes", day).random
        sigma = 0.0005 if asset_id in STABLE_IDS else self.sigma(asset_id)
        # uniform steps with the variance of the Gaussian ones: over many minutes the sum is
        # Gaussian anyway, and drawing them is several times faster
        width = sigma / math.sqrt(MINUTES) * math.sqrt(12)
        path = list(accumulate(((draw() - 0.5) * width for _ in range(MINUTES)), initial=0.0))
        # the bridge: tilt the free path so that it ends exactly on the next anchor
        slope = (end - start - path[-1]) / MINUTES
        exp = math.exp
        out = array("d", [base * exp(start + p + slope * k) for k, p in enumerate(path)])
        out[0], out[MINUTES] = self._anchor(asset_id, day), self._anchor(asset_id, day + 1)
        return out

    def _make_hours(self, asset_id: str, day: int) -> array[float]:
        """(open, high, low, close) of each hour of `day`, flattened (96 values)."""
        points = self._minutes(asset_id, day)
        out = array("d")
        for hour in range(24):
            seg = points[hour * 60 : hour * 60 + 61]
            out.extend((seg[0], max(seg), min(seg), seg[60]))
        return out

    def _hour(self, asset_id: str, day: int, hour: int) -> Ohlc:
        h = self._hours(asset_id, day)
        return h[hour * 4], h[hour * 4 + 1], h[hour * 4 + 2], h[hour * 4 + 3]

    def _make_day(self, asset_id: str, day: int) -> Ohlc:
        return _merge([self._hour(asset_id, day, hour) for hour in range(24)])

    # -- reading --------------------------------------------------------------------------

    def usd(self, asset_id: str, at: float) -> float:
        """The walk's price at `at` (Unix seconds; clamped to EPOCH), linear within a minute."""
        offset = max(at - EPOCH_S, 0.0)
        day, rest = divmod(offset, DAY_S)
        if rest == 0:  # day anchors need no minute path (cheap long daily series)
            return self._anchor(asset_id, int(day))
        minute, second = divmod(rest, 60)
        points = self._minutes(asset_id, int(day))
        m = int(minute)
        return points[m] + (points[m + 1] - points[m]) * (second / 60)

    def ohlc(self, asset_id: str, start: float, end: float) -> Ohlc:
        """Open, high, low, close of the path over [start, end] (Unix seconds)."""
        start, end = max(start, float(EPOCH_S)), max(end, float(EPOCH_S))
        parts: list[Ohlc] = []
        k = math.ceil((start - EPOCH_S) / 60)
        stop = math.floor((end - EPOCH_S) / 60)
        if EPOCH_S + k * 60 != start:  # ends off the minute grid are points of their own
            first = self.usd(asset_id, start)
            parts.append((first, first, first, first))
        if k == stop:  # a single grid point inside
            point = self._minutes(asset_id, k // MINUTES)[k % MINUTES]
            parts.append((point, point, point, point))
        while k < stop:  # each part includes both of its ends; neighbours share one
            day, minute = divmod(k, MINUTES)
            if minute == 0 and k + MINUTES <= stop:
                parts.append(self._days(asset_id, day))
                k += MINUTES
            elif minute % 60 == 0 and k + 60 <= stop:
                parts.append(self._hour(asset_id, day, minute // 60))
                k += 60
            else:
                upto = min(stop, k + 60 - minute % 60)  # to the next hour boundary
                seg = self._minutes(asset_id, day)[minute : minute + upto - k + 1]
                parts.append((seg[0], max(seg), min(seg), seg[-1]))
                k = upto
        if EPOCH_S + stop * 60 != end or not parts:
            last = self.usd(asset_id, end)
            parts.append((last, last, last, last))
        return _merge(parts)

    def bars(
        self, asset_id: str, width_s: int, start: float, end: float, *, now: float, limit: int
    ) -> list[Bar]:
        """Candles of `width_s` seconds aligned to EPOCH whose open time lies in [start, end]
        and not after `now`, oldest first, at most `limit`; the candle in progress ends at `now`
        (its close is the live price)."""
        end = min(end, now)
        t = EPOCH_S + max(math.ceil((start - EPOCH_S) / width_s), 0) * width_s
        out: list[Bar] = []
        while t <= end and len(out) < limit:
            close_at = min(t + width_s, now)
            o, h, low, c = self.ohlc(asset_id, t, close_at)
            vol = uniform(0.6, 1.4, self.seed, asset_id, "volume", width_s, t)
            volume = self.volume_24h(asset_id, t) * (close_at - t) / DAY_S * vol
            out.append(Bar(t, close_at, o, h, low, c, volume))
            t += width_s
        return out

    # -- fundamentals ---------------------------------------------------------------------

    def rank(self, asset_id: str) -> int:
        return self.by_id[asset_id].rank or 999

    def _reference_cap(self, asset_id: str) -> float:
        return 1.8e12 / math.pow(self.rank(asset_id), 1.9) + 2e9  # BTC ~ half the market

    def supply(self, asset_id: str) -> float:
        """Circulating supply, fixed: the reference market cap at the reference price."""
        return round(self._reference_cap(asset_id) / BASE_PRICES.get(asset_id, 1.0))

    def market_cap(self, asset_id: str, at: float) -> float:
        return self.supply(asset_id) * self.usd(asset_id, at)

    def volume_24h(self, asset_id: str, at: float) -> float:
        """24h USD volume: about 4% of the cap, varying from day to day."""
        day = int((at - EPOCH_S) // DAY_S)
        return self._reference_cap(asset_id) * 0.04 * uniform(0.7, 1.3, self.seed, asset_id, day)

    def change_24h_pct(self, asset_id: str, at: float) -> float:
        return (self.usd(asset_id, at) / self.usd(asset_id, at - DAY_S) - 1) * 100
