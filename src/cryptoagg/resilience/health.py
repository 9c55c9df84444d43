"""Per-provider health as observed by the pools: last success, last error, counters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptoagg.core.errors import ProviderError


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


class HealthBook:
    def __init__(self, clock: Callable[[], datetime] = _utcnow) -> None:
        self._by_provider: dict[str, ProviderHealth] = {}
        self._clock = clock

    def now(self) -> datetime:
        return self._clock()

    def get(self, provider: str) -> ProviderHealth:
        return self._by_provider.setdefault(provider, ProviderHealth())

    def success(self, provider: str, latency_ms: float) -> None:
        health = self.get(provider)
        health.successes += 1
        health.last_success = self._clock()
        health.last_latency_ms = round(latency_ms, 1)

    def failure(self, provider: str, error: ProviderError) -> None:
        if not error.counts_as_failure:
            return
        health = self.get(provider)
        health.failures += 1
        health.last_error = error.message
        health.last_error_reason = error.reason
        health.last_error_at = self._clock()
