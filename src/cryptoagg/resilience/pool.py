"""Pools: the providers of one capability, tried in priority order.

`first` fails over from provider to provider until one answers; `gather` asks every
provider at once (for consensus). Both record health and collect each provider's reason
when nothing could answer, so the API can say exactly why (503 with reasons).
Breakers, budgets and the other strategies grow here (SPEC §5).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

import structlog

from cryptoagg.core.errors import NoProviderAvailable, ProviderError
from cryptoagg.core.models import Capability
from cryptoagg.core.ports import Provider
from cryptoagg.resilience.health import HealthBook

T = TypeVar("T")
log = structlog.get_logger("cryptoagg.pool")

Call = Callable[[Provider], Awaitable[T]]


@dataclass(frozen=True, slots=True)
class Answer(Generic[T]):
    provider: str
    value: T
    fetched_at: datetime


@dataclass(slots=True)
class Gathered(Generic[T]):
    answers: list[Answer[T]] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)


class ProviderPool:
    def __init__(
        self, capability: Capability, providers: Sequence[Provider], health: HealthBook
    ) -> None:
        self.capability = capability
        self.providers = [p for p in providers if capability in p.capabilities]
        self.health = health

    @property
    def id(self) -> str:
        return self.capability.value

    def _usable(self, reasons: dict[str, str]) -> list[Provider]:
        usable = []
        for provider in self.providers:
            why = provider.disabled_reason
            if why:
                reasons[provider.name] = f"disabled: {why}"
            else:
                usable.append(provider)
        return usable

    async def _attempt(self, provider: Provider, call: Call[T]) -> T:
        started = time.perf_counter()
        try:
            value = await call(provider)
        except ProviderError as exc:
            self.health.failure(provider.name, exc)
            log.info(
                "provider_failed",
                pool=self.id,
                provider=provider.name,
                reason=exc.reason,
                error=exc.detail,
            )
            raise
        self.health.success(provider.name, (time.perf_counter() - started) * 1000)
        return value

    async def first(self, call: Call[T]) -> Answer[T]:
        """The first provider, in priority order, that answers."""
        reasons: dict[str, str] = {}
        for provider in self._usable(reasons):
            try:
                return Answer(provider.name, await self._attempt(provider, call), self.health.now())
            except ProviderError as exc:
                reasons[provider.name] = f"{exc.reason}: {exc.detail}"
        raise NoProviderAvailable(self.id, reasons)

    async def gather(self, call: Call[T]) -> Gathered[T]:
        """Every usable provider at once; answers in priority order plus failure reasons."""
        result: Gathered[T] = Gathered()
        usable = self._usable(result.reasons)
        outcomes = await asyncio.gather(
            *(self._attempt(p, call) for p in usable), return_exceptions=True
        )
        for provider, outcome in zip(usable, outcomes, strict=True):
            if isinstance(outcome, ProviderError):
                result.reasons[provider.name] = f"{outcome.reason}: {outcome.detail}"
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                result.answers.append(Answer(provider.name, outcome, self.health.now()))
        return result
