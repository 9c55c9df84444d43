"""Incidents from health checks, as Gatus and Uptime Kuma do them: a provider's incident opens
after `open_after` consecutive failed checks and resolves after `resolve_after` consecutive
good ones. A check that fails in between resets the good streak (and vice versa), so a
flapping provider neither opens nor resolves on every change.

`IncidentMachine` is the pure state machine; `IncidentService` stores what it decides (one
`incidents` row per incident, one `alerts` row per open and per resolve) and hands each alert
to a notifier. On its first use the service restores the open incidents from the database,
so a restart, or a new collector leader, continues them instead of opening duplicates.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol

import structlog

from cryptoagg.storage.incidents import AlertRecord, AlertRepository, IncidentRepository

log = structlog.get_logger("cryptoagg.incidents")

#: how many open incidents a restore reads back (there is at most one per provider)
RESTORE_LIMIT = 1000


class Event(StrEnum):
    OPENED = "opened"
    RESOLVED = "resolved"


@dataclass(slots=True)
class Track:
    """One provider's streaks and its open incident."""

    failures: int = 0
    successes: int = 0
    is_open: bool = False
    incident_id: int | None = None
    opened_at: datetime | None = None


class IncidentMachine:
    def __init__(self, open_after: int = 3, resolve_after: int = 2) -> None:
        if open_after < 1 or resolve_after < 1:
            raise ValueError("thresholds must be at least 1")
        self.open_after = open_after
        self.resolve_after = resolve_after
        self._tracks: dict[str, Track] = {}

    def track(self, provider: str) -> Track:
        return self._tracks.setdefault(provider, Track())

    def snapshot(self, provider: str) -> Track:
        return replace(self.track(provider))

    def put(self, provider: str, track: Track) -> None:
        self._tracks[provider] = track

    def restore(self, provider: str, incident_id: int, opened_at: datetime) -> None:
        """Continue an incident that was open before a restart."""
        self._tracks[provider] = Track(
            failures=self.open_after, is_open=True, incident_id=incident_id, opened_at=opened_at
        )

    def observe(self, provider: str, ok: bool, at: datetime) -> Event | None:
        """Feed one check; returns the transition it causes, if any."""
        t = self.track(provider)
        if ok:
            t.failures = 0
            t.successes += 1
            if t.is_open and t.successes >= self.resolve_after:
                t.is_open = False
                t.incident_id = None
                t.opened_at = None
                return Event.RESOLVED
            return None
        t.successes = 0
        t.failures += 1
        if not t.is_open and t.failures >= self.open_after:
            t.is_open = True
            t.opened_at = at
            return Event.OPENED
        return None

    def open_providers(self) -> list[str]:
        return sorted(p for p, t in self._tracks.items() if t.is_open)


class Notifier(Protocol):
    def notify(self, alert: AlertRecord) -> None:
        """Take an alert for delivery (must not block)."""


class NoNotifier:
    def notify(self, alert: AlertRecord) -> None:
        return None


@dataclass(frozen=True, slots=True)
class Check:
    """What the incident service needs to know of one health check."""

    provider: str
    ok: bool
    at: datetime
    reason: str | None = None


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class IncidentService:
    def __init__(
        self,
        incidents: IncidentRepository,
        alerts: AlertRepository,
        notifier: Notifier | None = None,
        *,
        machine: IncidentMachine | None = None,
    ) -> None:
        self.incidents = incidents
        self.alerts = alerts
        self.notifier: Notifier = notifier or NoNotifier()
        self.machine = machine or IncidentMachine()
        self.restored = False

    async def restore(self) -> int:
        """Load the open incidents (newest per provider); returns how many were restored."""
        rows = await asyncio.to_thread(self.incidents.latest, "open", RESTORE_LIMIT)
        seen: set[str] = set()
        for row in rows:  # newest first
            if row.provider not in seen:
                seen.add(row.provider)
                self.machine.restore(row.provider, row.id, row.opened_at)
        self.restored = True
        if seen:
            log.info("incidents_restored", providers=sorted(seen))
        return len(seen)

    async def record(self, check: Check) -> Event | None:
        """Feed one check; store and announce the transition it causes."""
        if not self.restored:
            await self.restore()
        before = self.machine.snapshot(check.provider)
        event = self.machine.observe(check.provider, check.ok, check.at)
        try:
            await self._store(check, event, before)
        except BaseException:
            self.machine.put(check.provider, before)  # decide again on the next check
            raise
        return event

    async def _store(self, check: Check, event: Event | None, before: Track) -> None:
        track = self.machine.track(check.provider)
        if event is Event.OPENED:
            reason = check.reason or "failed"
            incident = await asyncio.to_thread(
                self.incidents.open, check.provider, check.at, reason, track.failures
            )
            track.incident_id = incident.id
            message = (
                f"{check.provider} is down: {reason} ({track.failures} failed checks in a row)"
            )
            await self._alert(incident.id, check.at, event, message)
        elif event is Event.RESOLVED:
            incident_id = before.incident_id
            if incident_id is not None:
                await asyncio.to_thread(self.incidents.resolve, incident_id, check.at)
            since = before.opened_at
            down_for = f" after {_duration((check.at - since).total_seconds())}" if since else ""
            message = f"{check.provider} is back up{down_for}"
            await self._alert(incident_id, check.at, event, message)
        elif not check.ok and track.is_open and track.incident_id is not None:
            await asyncio.to_thread(self.incidents.add_failed_check, track.incident_id)

    async def _alert(self, incident_id: int | None, at: datetime, event: Event, msg: str) -> None:
        alert = await asyncio.to_thread(self.alerts.add, incident_id, at, event.value, msg)
        if event is Event.OPENED:
            log.warning("incident_opened", incident_id=incident_id, message=msg)
        else:
            log.info("incident_resolved", incident_id=incident_id, message=msg)
        self.notifier.notify(alert)
