from __future__ import annotations

import asyncio
import importlib.util
import threading
from collections.abc import AsyncIterator, Sequence

import pytest

from cryptoagg.core.errors import ConfigError, CostExceeded, CpuBusy, InvalidInput, PayloadTooLarge
from cryptoagg.resilience.cpu import ClientCostBudget, CpuLimiter
from cryptoagg.services import sentiment
from cryptoagg.services.sentiment import (
    MarketBackend,
    SentimentResult,
    SentimentService,
    VaderBackend,
    check_backend,
    chunked,
    make_backend,
)
from tests.support import FakeClock


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
    with pytest.raises(ConfigError, match="SENTIMENT_BACKEND: 'bert' is not one of market"):
        make_backend("bert")


def test_the_model_backend_needs_its_directory() -> None:
    # `transformers`, the name of earlier versions, is the model backend
    for name in ("onnx", "transformers"):
        with pytest.raises(ConfigError, match=f"SENTIMENT_MODEL: required with .*={name}"):
            make_backend(name)


def test_a_missing_model_extra_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "onnxruntime" else real(name)
    )
    with pytest.raises(ConfigError) as refused:
        check_backend("onnx")
    assert refused.value.message == (
        "SENTIMENT_BACKEND=onnx needs the model extra (onnxruntime missing): "
        "pip install 'cryptoagg[model]'"
    )
    check_backend("market")  # the lexicon backends need nothing of it


async def test_the_default_reads_market_headlines() -> None:
    """The issue's headlines: VADER reads the first as negative and every other one as
    exactly 0 (neutral)."""
    backend = make_backend("market")
    headlines = {
        "Bitcoin soars to record high as institutional demand surges": "positive",
        "ETH rallies to a record high": "positive",
        "Bitcoin slips as the market cools": "negative",
        "Bitcoin plunges below $60,000 as liquidations mount": "negative",
        "FTX files for bankruptcy after customer withdrawals halted": "negative",
        "Ethereum slumps as ETF outflows deepen": "negative",
    }
    results = backend.score(list(headlines))
    assert [r.label for r in results] == list(headlines.values())
    assert {r.model for r in results} == {"market-lexicon-1+market-layer-1"}
    assert results[0].score > 0.5 and all(r.score < -0.5 for r in results[2:])
    # the lexicon alone, as the layer reads it: soar 3.0, record high 2.5, surge 2.5, each a
    # little less the later it stands; "demand" (VADER: -0.5) names a market thing
    lexicon = MarketBackend(learned=False).score(list(headlines))
    assert [r.label for r in lexicon] == list(headlines.values())
    assert lexicon[0].model == "market-lexicon-1"
    assert lexicon[0].score == 0.884
    assert [(t.text, t.weight) for t in lexicon[0].terms] == [
        ("soars", 2.919),
        ("record high", 2.356),
        ("surges", 2.051),
    ]
    assert ("files for bankruptcy", -3.452) in [(t.text, t.weight) for t in lexicon[4].terms]
    # the default's terms: the lexicon's, then the headline's words the layer leaned on
    first = results[0].terms
    assert first[:3] == lexicon[0].terms
    learned = first[3:]
    assert 1 <= len(learned) <= 3 and all(t.weight > 0 and t.by == "layer" for t in learned)
    title = next(iter(headlines)).lower()
    assert all(t.text in title for t in learned), learned
    vader = VaderBackend().score(list(headlines))
    assert [r.label for r in vader] == ["negative"] + ["neutral"] * 5


def test_vader_says_which_lexicon_words_it_saw() -> None:
    (result,) = VaderBackend().score(["Great gains, investors are happy"])
    assert [(t.text, t.weight) for t in result.terms] == [
        ("Great", 3.1),
        ("happy", 2.7),
        ("gains", 1.4),
    ]


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
