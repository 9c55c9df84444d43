"""Per-provider health as observed by the pools: latency percentiles, success rates over 1 h
and 24 h, last success and last error.

Outcomes are kept in per-minute buckets (at most 1,440 per provider) and latencies in a
bounded reservoir of the most recent calls, so memory stays flat however busy the service is.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from statistics import quantiles

from cryptoagg.core.errors import ProviderError

LATENCY_SAMPLES = 200
DAY_MINUTES = 1440


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class ProviderHealth:
    successes: int = 0
    failures: int = 0
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_reason: str | None = None
    last_error_at: datetime | None = None
    last_latency_ms: float | None = None
    #: which of its prices (listing, spot) disagree with the consensus and why, until a
    #: check of the same prices finds them agreeing
    outliers: dict[str, str] = field(default_factory=dict)
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))
    #: minute index -> [successes, failures]
    minutes: dict[int, list[int]] = field(default_factory=dict)

    def percentile_ms(self, q: float) -> float | None:
        data = list(self.latencies_ms)
        if not data:
            return None
        if len(data) == 1:
            return round(data[0], 1)
        cuts = quantiles(data, n=100, method="inclusive")
        return round(cuts[int(q * 100) - 1], 1)

    def success_rate(self, now_minute: int, minutes: int) -> float | None:
        ok = bad = 0
        for minute, (s, f) in self.minutes.items():
            if minute > now_minute - minutes:
                ok += s
                bad += f
        return None if ok + bad == 0 else round(ok / (ok + bad), 4)


class HealthBook:
    def __init__(self, clock: Callable[[], datetime] = _utcnow) -> None:
        self._by_provider: dict[str, ProviderHealth] = {}
        self._clock = clock

    def now(self) -> datetime:
        return self._clock()

    def minute(self) -> int:
        return int(self._clock().timestamp() // 60)

    def get(self, provider: str) -> ProviderHealth:
        return self._by_provider.setdefault(provider, ProviderHealth())

    def _bucket(self, health: ProviderHealth) -> list[int]:
        minute = self.minute()
        bucket = health.minutes.setdefault(minute, [0, 0])
        # minutes arrive in order, so the oldest is first: drop from the front (a minute
        # the wall clock stepped back to sits later and goes when it reaches the front)
        while len(health.minutes) > DAY_MINUTES:
            oldest = next(iter(health.minutes))
            if oldest > minute - DAY_MINUTES:
                break
            del health.minutes[oldest]
        return bucket

    def success(self, provider: str, latency_ms: float) -> None:
        health = self.get(provider)
        health.successes += 1
        health.last_success = self._clock()
        health.last_latency_ms = round(latency_ms, 1)
        health.latencies_ms.append(latency_ms)
        self._bucket(health)[0] += 1

    def failure(self, provider: str, error: ProviderError) -> None:
        if not error.counts_as_failure:
            return
        health = self.get(provider)
        health.failures += 1
        health.last_error = error.message
        health.last_error_reason = error.reason
        health.last_error_at = self._clock()
        self._bucket(health)[1] += 1

    def outlier(self, provider: str, what: str, error: ProviderError) -> None:
        """The provider answers, but its prices (`what`) disagree with the consensus: a
        failure, and its state until `agrees` for the same prices."""
        self.failure(provider, error)
        self.get(provider).outliers[what] = error.detail

    def agrees(self, provider: str, what: str) -> None:
        self.get(provider).outliers.pop(what, None)
