"""Fault injection: what `POST /_sim/faults` stores and how a request picks the fault that fires.

Each fault fires with probability `rate`, drawn from one RNG seeded by the simulator's seed, and
expires `for_s` seconds after it was added (on the injected clock) or when it is deleted.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["error", "timeout", "slow", "ratelimit", "geoblock", "malformed", "reset", "outlier"]
#: how long `timeout` holds a request unless told otherwise: far longer than any client waits
TIMEOUT_HOLD_S = 60.0
SLOW_DELAY_S = 2.0


class FaultSpec(BaseModel):
    """The body of `POST /_sim/faults`."""

    model_config = ConfigDict(extra="forbid")

    provider: str = Field(description="a simulated provider, e.g. `coingecko`")
    kind: Kind
    rate: float = Field(default=1.0, ge=0.0, le=1.0, description="probability per request")
    status: int = Field(default=500, ge=400, le=599, description="HTTP status of `error`")
    retry_after_s: float = Field(default=60.0, ge=0.0, description="`Retry-After` of `ratelimit`")
    delay_s: float | None = Field(
        default=None, ge=0.0, le=600.0, description="`slow` delay (2 s) / `timeout` hold (60 s)"
    )
    factor: float = Field(default=1.25, gt=0.0, description="price multiplier of `outlier`")
    for_s: float | None = Field(default=None, gt=0.0, description="expiry; none = until deleted")


class Fault(FaultSpec):
    id: int
    added_at: datetime
    expires_at: datetime | None = None

    @property
    def delay(self) -> float:
        if self.delay_s is not None:
            return self.delay_s
        return TIMEOUT_HOLD_S if self.kind == "timeout" else SLOW_DELAY_S


class FaultBook:
    def __init__(self, seed: int, clock: Callable[[], datetime]) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._rng = random.Random(f"{seed}|faults")  # noqa: S311 - simulation, not security
        self._clock = clock

    def add(self, spec: FaultSpec) -> Fault:
        now = self._clock()
        expires = now + timedelta(seconds=spec.for_s) if spec.for_s else None
        fault = Fault(**spec.model_dump(), id=next(self._ids), added_at=now, expires_at=expires)
        self._faults.append(fault)
        return fault

    def active(self) -> list[Fault]:
        now = self._clock()
        self._faults = [f for f in self._faults if f.expires_at is None or f.expires_at > now]
        return list(self._faults)

    def clear(self, provider: str | None = None) -> int:
        before = len(self._faults)
        self._faults = [f for f in self._faults if provider is not None and f.provider != provider]
        return before - len(self._faults)

    def pick(self, provider: str, *, outlier: bool = False) -> Fault | None:
        """The first of the provider's faults (outliers, or the others) that fires now."""
        for fault in self.active():
            if fault.provider != provider or (fault.kind == "outlier") != outlier:
                continue
            if fault.rate >= 1.0 or self._rng.random() < fault.rate:
                return fault
        return None
