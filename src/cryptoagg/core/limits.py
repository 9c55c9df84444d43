"""Published or configured call limits of a provider (spent by `resilience.budget`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


@dataclass(frozen=True, slots=True)
class Limits:
    """None means no limit is known."""

    per_second: float | None = None
    per_minute: float | None = None
    monthly: int | None = None
    #: a provider past this share of its monthly quota is tried last
    near_fraction: float = 0.9


class Priority(IntEnum):
    """Who a call is for, most urgent first: a client request waits for a rate budget within
    its deadline and goes ahead of background work; collectors keep off a reserve of each
    budget; health probes and discovery take what is left."""

    CLIENT = 0
    COLLECTOR = 1
    PROBE = 2
