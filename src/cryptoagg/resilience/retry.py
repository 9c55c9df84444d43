"""Retries with full-jitter exponential backoff, inside the inbound request's deadline.

A retry never sleeps past the deadline: when the next back-off would not fit, the error is
raised at once so the pool fails over to the next provider instead.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from cryptoagg.core.errors import (
    ConnectionFailed,
    ProviderError,
    Unavailable,
    UpstreamTimeout,
)

T = TypeVar("T")
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

#: errors worth a second try; a timeout is not: the provider already had its full timeout,
#: and the deadline is better spent on the next provider
TRANSIENT = (Unavailable, ConnectionFailed)


@dataclass(frozen=True, slots=True)
class Deadline:
    expires_at: float
    clock: Clock

    @classmethod
    def after(cls, seconds: float, clock: Clock) -> Deadline:
        return cls(clock() + seconds, clock)

    def remaining(self) -> float:
        return max(0.0, self.expires_at - self.clock())

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 2
    base_s: float = 0.2
    cap_s: float = 2.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
        return rng.uniform(0.0, min(self.cap_s, self.base_s * 2**attempt))


async def call_with_retry(
    call: Callable[[], Awaitable[T]],
    provider: str,
    *,
    policy: RetryPolicy,
    deadline: Deadline,
    sleep: Sleep = asyncio.sleep,
    rng: random.Random | None = None,
) -> T:
    """Run `call`, retrying transient errors while the deadline allows."""
    rng = rng or random.Random()  # noqa: S311 - jitter, not security
    for attempt in range(policy.attempts):
        remaining = deadline.remaining()
        if remaining <= 0:
            raise UpstreamTimeout(provider, "request deadline reached")
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for returns the call's result and
            # drops the caller's cancellation when both land in the same loop turn
            async with asyncio.timeout(remaining):
                return await call()
        except TimeoutError:
            raise UpstreamTimeout(provider, "request deadline reached") from None
        except ProviderError as exc:
            if not isinstance(exc, TRANSIENT) or attempt + 1 >= policy.attempts:
                raise
            delay = policy.backoff(attempt, rng)
            if delay >= deadline.remaining():
                raise
            await sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
