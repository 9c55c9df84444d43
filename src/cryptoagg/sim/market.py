"""The simulator's price model: a seeded random walk per asset.

A daily random walk (log returns) anchors each day; inside a day a minute-level Brownian
bridge joins the day's anchors. Both are pure functions of (seed, asset, day), cached, so any
candle range is reproducible and agrees with the live price. Stablecoins hover at their peg.
Every provider sees the walk through a small fixed bias of a few basis points, so providers
agree closely but not exactly.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from cryptoagg.core.asset_seed import seed_assets
from cryptoagg.core.assets import Asset

EPOCH = datetime(2018, 1, 1, tzinfo=UTC)
REFERENCE_DAY = (datetime(2026, 1, 1, tzinfo=UTC) - EPOCH).days
MINUTES = 1440
DAILY_SIGMA = 0.03
STABLE_IDS = frozenset({"tether", "usd-coin", "dai"})

#: level of each asset on the reference day (USD); the walk wanders from there
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


def _seed(*parts: object) -> int:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@dataclass(frozen=True, slots=True)
class Ohlcv:
    open_time: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float


class PriceModel:
    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.assets: list[Asset] = seed_assets()
        self.by_id = {a.id: a for a in self.assets}
        self._walks: dict[str, list[float]] = {}

    # -- the walk -------------------------------------------------------------------------

    def _daily(self, asset_id: str, day: int) -> float:
        """Log level at the start of `day` (days since EPOCH), relative to the reference day."""
        walk = self._walks.setdefault(asset_id, [0.0])
        if len(walk) <= day + 1:
            rng = random.Random(_seed(self.seed, asset_id, "daily", len(walk)))  # noqa: S311
            while len(walk) <= day + 1:
                walk.append(walk[-1] + rng.gauss(0.0, DAILY_SIGMA))
        ref = self._daily_ref(asset_id)
        return walk[day] - ref

    def _daily_ref(self, asset_id: str) -> float:
        walk = self._walks[asset_id]
        if len(walk) <= REFERENCE_DAY:
            rng = random.Random(_seed(self.seed, asset_id, "daily", len(walk)))  # noqa: S311
            while len(walk) <= REFERENCE_DAY:
                walk.append(walk[-1] + rng.gauss(0.0, DAILY_SIGMA))
        return walk[REFERENCE_DAY]

    @lru_cache(maxsize=8192)  # noqa: B019 - the model lives as long as the simulator
    def day_minutes(self, asset_id: str, day: int) -> tuple[float, ...]:
        """USD prices at each minute of `day` (MINUTES + 1 points, both anchors included)."""
        base = BASE_PRICES.get(asset_id, 1.0)
        rng = random.Random(_seed(self.seed, asset_id, "minutes", day))  # noqa: S311
        if asset_id in STABLE_IDS:
            return tuple(base * (1 + rng.gauss(0.0, 0.0004)) for _ in range(MINUTES + 1))
        start, end = self._daily(asset_id, day), self._daily(asset_id, day + 1)
        step = DAILY_SIGMA / math.sqrt(MINUTES)
        path = [0.0]
        for _ in range(MINUTES):
            path.append(path[-1] + rng.gauss(0.0, step))
        drift = path[-1] - (end - start)
        return tuple(base * math.exp(start + p - drift * k / MINUTES) for k, p in enumerate(path))

    # -- reading --------------------------------------------------------------------------

    @staticmethod
    def _split(at: datetime) -> tuple[int, int, float]:
        seconds = (at - EPOCH).total_seconds()
        day, rest = divmod(seconds, 86400)
        minute, second = divmod(rest, 60)
        return int(day), int(minute), second / 60

    def usd(self, asset_id: str, at: datetime) -> float:
        day, minute, frac = self._split(at)
        points = self.day_minutes(asset_id, day)
        return points[minute] + (points[minute + 1] - points[minute]) * frac

    def quote(self, asset_id: str, provider: str, at: datetime, factor: float = 1.0) -> float:
        """The price `provider` reports: the walk plus its fixed bias (a few bps)."""
        bias_rng = random.Random(_seed(self.seed, provider, asset_id, "bias"))  # noqa: S311
        return self.usd(asset_id, at) * (1 + bias_rng.uniform(-3e-4, 3e-4)) * factor

    def candles(
        self,
        asset_id: str,
        step: timedelta,
        start: datetime,
        end: datetime,
        *,
        limit: int,
        now: datetime,
    ) -> list[Ohlcv]:
        """Candles of width `step` whose open time lies in [start, end] and not after `now`,
        at most `limit`; the candle in progress closes at the price of `now`."""
        end = min(end, now)
        width = int(step.total_seconds())
        first = math.ceil((start - EPOCH).total_seconds() / width) * width
        out: list[Ohlcv] = []
        t = first
        while len(out) < limit:
            open_time = EPOCH + timedelta(seconds=t)
            if open_time > end:
                break
            out.append(self._candle(asset_id, open_time, width, now))
            t += width
        return out

    def _minutes(self, asset_id: str, open_time: datetime, minutes: int) -> list[float]:
        """Minute prices from `open_time` to `minutes` later, both ends included."""
        day, minute, _ = self._split(open_time)
        values = list(self.day_minutes(asset_id, day)[minute : minute + minutes + 1])
        while len(values) < minutes + 1:  # the span crosses midnight
            day += 1
            values.extend(self.day_minutes(asset_id, day)[1 : minutes + 2 - len(values)])
        return values

    def _candle(self, asset_id: str, open_time: datetime, width: int, now: datetime) -> Ohlcv:
        elapsed = int((now - open_time).total_seconds() // 60)
        minutes = max(1, min(width // 60, elapsed))
        values = self._minutes(asset_id, open_time, minutes)
        vol_rng = random.Random(_seed(self.seed, asset_id, "volume", open_time.timestamp()))  # noqa: S311
        usd_volume = self.volume_24h(asset_id) * minutes / MINUTES * vol_rng.uniform(0.5, 1.5)
        return Ohlcv(
            open_time=open_time,
            open=values[0],
            high=max(values),
            low=min(values),
            close=values[-1],
            volume=usd_volume / values[-1],
        )

    # -- fundamentals ---------------------------------------------------------------------

    def rank(self, asset_id: str) -> float:
        return float(self.by_id[asset_id].rank or 999)

    def _reference_cap(self, asset_id: str) -> float:
        return 1.8e12 / math.pow(self.rank(asset_id), 1.15)

    def supply(self, asset_id: str) -> float:
        return self._reference_cap(asset_id) / BASE_PRICES.get(asset_id, 1.0)

    def market_cap(self, asset_id: str, at: datetime) -> float:
        return self.supply(asset_id) * self.usd(asset_id, at)

    def volume_24h(self, asset_id: str) -> float:
        return self._reference_cap(asset_id) * 0.04

    def change_24h_pct(self, asset_id: str, at: datetime) -> float:
        before = self.usd(asset_id, at - timedelta(days=1))
        return (self.usd(asset_id, at) / before - 1) * 100


def decimal_str(value: float, places: int = 8) -> str:
    """A price as providers print it: fixed decimals, no exponent."""
    return f"{Decimal(repr(value)):.{places}f}"
