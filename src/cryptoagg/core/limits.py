"""Published or configured call limits of a provider (spent by `resilience.budget`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """None means no limit is known."""

    per_second: float | None = None
    per_minute: float | None = None
    monthly: int | None = None
    #: a provider past this share of its monthly quota is tried last
    near_fraction: float = 0.9
