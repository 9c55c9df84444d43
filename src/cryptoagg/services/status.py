"""Provider status for `/api/providers`, the CLI and `/health`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptoagg.core.ports import Provider
from cryptoagg.resilience.health import HealthBook


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    name: str
    enabled: bool
    disabled_reason: str | None
    capabilities: list[str]
    requires_key: bool
    state: str  # "ok" | "failing" | "unknown" | "disabled"
    successes: int
    failures: int
    last_success: datetime | None
    last_error: str | None
    last_error_reason: str | None
    last_error_at: datetime | None
    last_latency_ms: float | None


class StatusService:
    def __init__(self, providers: Sequence[Provider], health: HealthBook) -> None:
        self.providers = providers
        self.health = health

    def providers_status(self) -> list[ProviderStatus]:
        rows = []
        for provider in self.providers:
            h = self.health.get(provider.name)
            reason = provider.disabled_reason
            if reason:
                state = "disabled"
            elif h.last_error_at and (h.last_success is None or h.last_error_at > h.last_success):
                state = "failing"
            elif h.last_success:
                state = "ok"
            else:
                state = "unknown"
            rows.append(
                ProviderStatus(
                    name=provider.name,
                    enabled=reason is None,
                    disabled_reason=reason,
                    capabilities=sorted(c.value for c in provider.capabilities),
                    requires_key=provider.requires_key,
                    state=state,
                    successes=h.successes,
                    failures=h.failures,
                    last_success=h.last_success,
                    last_error=h.last_error,
                    last_error_reason=h.last_error_reason,
                    last_error_at=h.last_error_at,
                    last_latency_ms=h.last_latency_ms,
                )
            )
        return rows
