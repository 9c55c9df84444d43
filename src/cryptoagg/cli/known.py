"""What is known of each provider's health without a running server: the newest stored
health check (`status_log`, written by `serve`'s health collector) or probe (`response_times`,
written by the collector and by `cryptoagg providers check`).

A command's own process has no health data of its own (nothing has been called yet), so
`cryptoagg providers` shows this instead; a check that sent no call (`skipped`) says nothing
about the provider and is passed over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from cryptoagg.storage.monitoring import (
    CheckState,
    ResponseTimeRepository,
    StatusLogRepository,
)

#: check states that say something about the provider (a skipped check sent nothing)
TELLING = tuple(s for s in CheckState if s is not CheckState.SKIPPED)


@dataclass(frozen=True, slots=True)
class LastCheck:
    at: datetime
    ok: bool
    #: "health check" (status_log) or "probe" (response_times)
    source: str
    #: why it failed (`kind: message`), when the health check says
    detail: str | None = None


def last_checks(engine: Engine, names: Sequence[str]) -> dict[str, LastCheck]:
    """The newest telling check or probe of each provider that has one (a blocking read)."""
    checks, probes = StatusLogRepository(engine), ResponseTimeRepository(engine)
    found = {}
    for name in names:
        candidates = [
            LastCheck(c.at, c.ok, "health check", c.reason)
            for c in checks.latest(provider=name, limit=1, states=TELLING)
        ]
        candidates += [LastCheck(p.at, p.ok, "probe") for p in probes.recent(name, 1)]
        if candidates:
            # the newest; at the same time a health check's row says why, so it goes first
            found[name] = max(candidates, key=lambda c: (c.at, c.source == "health check"))
    return found
