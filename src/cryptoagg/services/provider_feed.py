"""Provider status changes for the `providers` topic of `WS /ws`.

Breakers open and close on real traffic as well as on health checks, and in every replica,
so the feed is not a collector job: each process compares its providers' states every few
seconds (no I/O: `StatusService` reads in-memory state) and publishes when they changed.
"""

from __future__ import annotations

from cryptoagg.services.event_payloads import providers_data
from cryptoagg.services.events import PROVIDERS, Publisher
from cryptoagg.services.status import StatusService


class ProviderFeed:
    def __init__(self, status: StatusService, publisher: Publisher) -> None:
        self.status = status
        self.publisher = publisher
        self._last: list[dict[str, object]] | None = None

    def current(self) -> list[dict[str, object]]:
        return providers_data(self.status.providers_status())

    async def __call__(self) -> bool:
        """Publish the providers' states if they changed since the last run."""
        rows = self.current()
        if rows == self._last:
            return False
        self._last = rows
        self.publisher.publish(PROVIDERS, rows)
        return True
