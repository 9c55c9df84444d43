"""The call counter behind `GET /_sim/stats`: requests per provider and path (the providers
are the catalog's, `sim/catalog.py`)."""

from __future__ import annotations

from collections import Counter


class CallStats:
    """Requests per provider and path, faulted ones included."""

    def __init__(self) -> None:
        self._calls: Counter[tuple[str, str]] = Counter()

    def count(self, provider: str, path: str) -> None:
        self._calls[(provider, path)] += 1

    def total(self, provider: str | None = None) -> int:
        return sum(n for (p, _), n in self._calls.items() if provider in (None, p))

    def snapshot(self) -> dict[str, object]:
        by_provider: dict[str, dict[str, int]] = {}
        for (provider, path), n in sorted(self._calls.items()):
            by_provider.setdefault(provider, {})[path] = n
        return {"total": self.total(), "calls": by_provider}

    def reset(self) -> None:
        self._calls.clear()
