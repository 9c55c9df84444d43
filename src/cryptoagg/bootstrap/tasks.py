"""The wall clock every built object shares and the periodic tasks the root starts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import structlog

from cryptoagg.core.errors import CryptoAggError

log = structlog.get_logger("cryptoagg.bootstrap")


def utcnow() -> datetime:
    return datetime.now(UTC)


async def every(interval_s: float, job: Callable[[], Awaitable[object]]) -> None:
    """Run `job` now and then every `interval_s`; a failure is logged, never fatal."""
    while True:
        try:
            await job()
        except CryptoAggError as exc:
            log.warning("background_job_failed", error=exc.message)
        await asyncio.sleep(interval_s)


async def cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def start_periodic(
    name: str,
    interval_s: float,
    job: Callable[[], Awaitable[object]],
    stack: contextlib.AsyncExitStack,
) -> None:
    """`job` every `interval_s` in a task named `name`, cancelled when `stack` closes."""
    task = asyncio.create_task(every(interval_s, job), name=name)
    stack.push_async_callback(cancel, task)
