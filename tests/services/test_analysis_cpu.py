"""AnalysisService computes on the shared CPU limiter's worker, and waits for it rather than
being refused when its queue is full (an analysis has no refusal to answer with)."""

from __future__ import annotations

import asyncio
import threading

from sqlalchemy import Engine

from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.models import Interval
from cryptoagg.resilience.cpu import CpuLimiter
from cryptoagg.services.analysis import AnalysisService
from cryptoagg.storage.analysis import AnalysisRepository
from tests.services.test_history import NOW, FakeOhlcv, service
from tests.support import FakeClock


async def test_analysis_waits_for_the_cpu_worker_instead_of_being_refused(
    migrated: Engine,
) -> None:
    limiter = CpuLimiter(1, queue=0)
    svc = AnalysisService(
        service(migrated, [FakeOhlcv("binance")], chunk=720),
        AnalysisRepository(migrated),
        FakeClock(NOW).wall,
        limiter=limiter,
    )
    held, entered = threading.Event(), threading.Event()

    def hold() -> None:
        entered.set()
        held.wait(timeout=10)

    other = asyncio.create_task(limiter.run(hold))  # the worker is taken, no queue
    await asyncio.to_thread(entered.wait, 10)
    analysis = asyncio.create_task(
        svc.analyse(seeded_registry().get("bitcoin"), Interval.H1, 60, max_calls=3)
    )
    for _ in range(500):
        if limiter.waiting:
            break
        await asyncio.sleep(0.01)
    assert limiter.waiting == 1 and not analysis.done()  # waiting, not refused
    held.set()
    report = await analysis
    await other
    assert not report.reused and report.result["candles"] == 60
    assert limiter.completed == 2 and limiter.refused == 0
    await limiter.aclose()
