from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Sequence

import pytest

from cryptoagg.core.errors import ConfigError, CostExceeded, CpuBusy, InvalidInput, PayloadTooLarge
from cryptoagg.resilience.cpu import ClientCostBudget, CpuLimiter
from cryptoagg.services import sentiment
from cryptoagg.services.sentiment import (
    SentimentResult,
    SentimentService,
    VaderBackend,
    chunked,
    make_backend,
)
from tests.resilience.support import FakeClock


@pytest.fixture
async def limiter() -> AsyncIterator[CpuLimiter]:
    cpu = CpuLimiter(1, queue=0)
    yield cpu
    await cpu.aclose()


@pytest.fixture
def service(limiter: CpuLimiter) -> SentimentService:
    return SentimentService(VaderBackend(), max_texts=3, max_chars=40, limiter=limiter)


async def test_vader_labels_and_scores(service: SentimentService) -> None:
    results = await service.analyze(
        [
            "Great gains, investors are happy",
            "Exchange hacked, users lose funds",
            "The meeting is on Tuesday",
        ]
    )
    assert [r.label for r in results] == ["positive", "negative", "neutral"]
    assert results[0].score > 0.5 and results[1].score < -0.3 and results[2].score == 0.0
    assert {r.model for r in results} == {"vader-3.3.2"}


async def test_limits(service: SentimentService) -> None:
    with pytest.raises(PayloadTooLarge, match="at most 3"):
        await service.analyze(["a"] * 4)
    with pytest.raises(InvalidInput, match=r"texts\[1\]: at most 40 characters"):
        await service.analyze(["fine", "x" * 41])
    with pytest.raises(InvalidInput, match="at least one"):
        await service.analyze([])
    with pytest.raises(InvalidInput, match="empty"):
        await service.analyze(["  "])


def test_unknown_backends_are_refused() -> None:
    with pytest.raises(ConfigError, match="SENTIMENT_BACKEND"):
        make_backend("transformers")


class Recording:
    """A backend that records each call's texts (one call per chunk) and can be held."""

    model = "recording"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def score(self, texts: Sequence[str]) -> list[SentimentResult]:
        self.calls.append(list(texts))
        self.entered.set()
        self.release.wait(timeout=10)
        return [SentimentResult("neutral", float(len(t)), self.model) for t in texts]


def test_texts_are_chunked_by_characters_in_order() -> None:
    assert chunked(["aa", "bb", "cc", "dddd", "e"], 4) == [["aa", "bb"], ["cc"], ["dddd"], ["e"]]
    assert chunked(["x" * 10, "y"], 4) == [["x" * 10], ["y"]]  # a long text is a chunk alone
    assert chunked([], 4) == []


async def test_scoring_runs_in_chunks_and_keeps_the_order(
    limiter: CpuLimiter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sentiment, "CHUNK_CHARS", 10)
    backend = Recording()
    service = SentimentService(backend, max_texts=10, max_chars=100, limiter=limiter)
    texts = ["a" * 6, "b" * 4, "c" * 7, "d" * 2, "e" * 12]
    results = await service.analyze(texts)
    assert [r.score for r in results] == [6, 4, 7, 2, 12]
    assert backend.calls == [texts[:2], texts[2:4], texts[4:]]


async def test_a_client_is_charged_its_characters(limiter: CpuLimiter) -> None:
    clock = FakeClock()
    budget = ClientCostBudget(60, 20, unit="characters", clock=clock)  # 1 per second
    service = SentimentService(
        Recording(), max_texts=3, max_chars=40, limiter=limiter, budget=budget
    )
    await service.analyze(["x" * 15], client="1.2.3.4")
    with pytest.raises(CostExceeded) as refused:
        await service.analyze(["y" * 10], client="1.2.3.4")
    assert refused.value.retry_after_s == pytest.approx(5.0)  # 25 characters past 20
    await service.analyze(["z" * 10], client="5.6.7.8")  # another client
    await service.analyze(["w" * 40] * 3)  # an internal caller is not charged
    clock.advance(5.0)
    await service.analyze(["y" * 10], client="1.2.3.4")


async def test_busy_refusal_gives_the_characters_back(limiter: CpuLimiter) -> None:
    budget = ClientCostBudget(60, 20, unit="characters", clock=FakeClock())
    backend = Recording()
    service = SentimentService(backend, max_texts=3, max_chars=40, limiter=limiter, budget=budget)
    backend.release.clear()
    backend.entered.clear()
    first = asyncio.create_task(service.analyze(["held"]))
    await asyncio.to_thread(backend.entered.wait, 10)
    with pytest.raises(CpuBusy):  # one worker, no queue
        await service.analyze(["x" * 20], client="1.2.3.4")
    backend.release.set()
    await first
    await service.analyze(["x" * 20], client="1.2.3.4")  # the refused 20 were given back


async def test_a_cancelled_request_stops_after_its_current_chunk(
    limiter: CpuLimiter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sentiment, "CHUNK_CHARS", 10)
    backend = Recording()
    service = SentimentService(backend, max_texts=10, max_chars=100, limiter=limiter)
    backend.release.clear()
    task = asyncio.create_task(service.analyze(["a" * 10, "b" * 10, "c" * 10]))
    await asyncio.to_thread(backend.entered.wait, 10)
    task.cancel()  # the request deadline
    with pytest.raises(asyncio.CancelledError):
        await task
    assert limiter.running == 1  # the first chunk still runs in its thread
    backend.release.set()
    for _ in range(200):
        if limiter.running == 0:
            break
        await asyncio.sleep(0.01)
    assert limiter.running == 0
    assert backend.calls == [["a" * 10]]  # the other chunks were never scored
