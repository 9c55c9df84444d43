"""Provider-health storage: health-check results (`status_log`, `response_times`).

Incidents and alerts are in `storage/incidents.py`; their names are importable from here too,
for the code that reads both. Synchronous repositories like those in `repositories.py`; async
callers use `asyncio.to_thread`. Listings are newest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Engine, select

from cryptoagg.storage.incidents import (
    AlertRecord,
    AlertRepository,
    IncidentFilter,
    IncidentRecord,
    IncidentRepository,
)
from cryptoagg.storage.tables import response_times, status_log

__all__ = [
    "FAILED_STATES",
    "AlertRecord",
    "AlertRepository",
    "CheckRecord",
    "CheckState",
    "IncidentFilter",
    "IncidentRecord",
    "IncidentRepository",
    "ResponseTimeRecord",
    "ResponseTimeRepository",
    "StatusLogRepository",
]


class CheckState(StrEnum):
    """The outcome of one health check, as stored in `status_log.state`."""

    UP = "up"
    #: a call went out and failed
    DOWN = "down"
    #: no call went out: the breaker holds the provider back (open, or disabled after an auth
    #: failure or geo-block); counts as a failed check
    HELD_BACK = "held_back"
    #: no call went out: the rate budget or monthly quota said no; not a failure
    SKIPPED = "skipped"
    #: no call went out: real traffic since the previous check succeeded / failed last
    PASSIVE_UP = "passive_up"
    PASSIVE_DOWN = "passive_down"


FAILED_STATES = (CheckState.DOWN, CheckState.HELD_BACK, CheckState.PASSIVE_DOWN)


@dataclass(frozen=True, slots=True)
class CheckRecord:
    at: datetime
    provider: str
    ok: bool
    state: CheckState
    reason: str | None = None
    latency_ms: float | None = None


@dataclass(frozen=True, slots=True)
class ResponseTimeRecord:
    at: datetime
    provider: str
    endpoint: str
    latency_ms: float
    ok: bool


class StatusLogRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_many(self, records: Sequence[CheckRecord]) -> int:
        if not records:
            return 0
        rows = [
            {
                "at": r.at,
                "provider": r.provider,
                "ok": r.ok,
                "state": r.state.value,
                "reason": r.reason,
                "latency_ms": r.latency_ms,
            }
            for r in records
        ]
        with self.engine.begin() as connection:
            connection.execute(status_log.insert(), rows)
        return len(rows)

    def errors(
        self,
        *,
        provider: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[CheckRecord]:
        """Failed checks (down or held back; skipped ones are not failures), newest first."""
        return self.latest(provider=provider, since=since, limit=limit, states=FAILED_STATES)

    def latest(
        self,
        *,
        provider: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        states: Sequence[CheckState] | None = None,
    ) -> list[CheckRecord]:
        """Checks, newest first; optionally one provider's, since a time, in some states."""
        query = select(status_log)
        if states is not None:
            query = query.where(status_log.c.state.in_([s.value for s in states]))
        if provider is not None:
            query = query.where(status_log.c.provider == provider)
        if since is not None:
            query = query.where(status_log.c.at >= since)
        query = query.order_by(status_log.c.at.desc(), status_log.c.id.desc()).limit(limit)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            CheckRecord(
                at=r["at"],
                provider=r["provider"],
                ok=r["ok"],
                state=CheckState(r["state"]),
                reason=r["reason"],
                latency_ms=r["latency_ms"],
            )
            for r in rows
        ]


class ResponseTimeRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_many(self, records: Sequence[ResponseTimeRecord]) -> int:
        if not records:
            return 0
        rows = [
            {
                "at": r.at,
                "provider": r.provider,
                "endpoint": r.endpoint,
                "latency_ms": r.latency_ms,
                "ok": r.ok,
            }
            for r in records
        ]
        with self.engine.begin() as connection:
            connection.execute(response_times.insert(), rows)
        return len(rows)

    def recent(self, provider: str, limit: int = 100) -> list[ResponseTimeRecord]:
        query = (
            select(response_times)
            .where(response_times.c.provider == provider)
            .order_by(response_times.c.at.desc(), response_times.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            ResponseTimeRecord(
                at=r["at"],
                provider=r["provider"],
                endpoint=r["endpoint"],
                latency_ms=r["latency_ms"],
                ok=r["ok"],
            )
            for r in rows
        ]
