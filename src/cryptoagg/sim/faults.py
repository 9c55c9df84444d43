"""Fault injection: what `POST /_sim/faults` stores and how a request picks one."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["error", "timeout", "slow", "ratelimit", "geoblock", "malformed", "reset", "outlier"]


class FaultSpec(BaseModel):
    """The body of `POST /_sim/faults`."""

    model_config = ConfigDict(extra="forbid")

    provider: str
    kind: Kind
    rate: float = Field(default=1.0, ge=0.0, le=1.0)
    status: int = Field(default=500, ge=400, le=599)
    retry_after_s: float = Field(default=60.0, ge=0.0)
    delay_s: float | None = Field(default=None, ge=0.0, le=600.0)
    factor: float = Field(default=1.25, gt=0.0)
    for_s: float | None = Field(default=None, gt=0.0)


class Fault(FaultSpec):
    id: int
    expires_at: datetime | None = None

    @property
    def delay(self) -> float:
        if self.delay_s is not None:
            return self.delay_s
        return 60.0 if self.kind == "timeout" else 2.0


class FaultBook:
    def __init__(self, seed: int, clock: Callable[[], datetime]) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._rng = random.Random(seed)  # noqa: S311 - simulation, not security
        self._clock = clock

    def add(self, spec: FaultSpec) -> Fault:
        expires = self._clock() + timedelta(seconds=spec.for_s) if spec.for_s else None
        fault = Fault(**spec.model_dump(), id=next(self._ids), expires_at=expires)
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

    def pick(self, provider: str, outlier: bool = False) -> Fault | None:
        """The first matching fault that fires for this request (each fires with its rate)."""
        for fault in self.active():
            if fault.provider != provider or (fault.kind == "outlier") != outlier:
                continue
            if fault.rate >= 1.0 or self._rng.random() < fault.rate:
                return fault
        return None


class CallStats:
    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()

    def count(self, provider: str, path: str) -> None:
        self.calls[(provider, path)] += 1

    def snapshot(self) -> dict[str, object]:
        by_provider: dict[str, dict[str, int]] = {}
        for (provider, path), n in sorted(self.calls.items()):
            by_provider.setdefault(provider, {})[path] = n
        return {"total": sum(self.calls.values()), "calls": by_provider}

    def reset(self) -> None:
        self.calls.clear()
