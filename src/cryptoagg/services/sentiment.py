"""Sentiment of short texts (headlines, posts): label, score and the model that said so.

The backend is chosen by SENTIMENT_BACKEND. VADER (a lexicon and rules, no weights to
download) is the default; a transformers backend arrives with the news issue. The model is
loaded once, at start-up.

Scoring is CPU work (VADER: pure Python, up to ~10 ms for 2,000 characters of lexicon words
without punctuation), so it goes through the shared CPU limiter (`resilience/cpu.py`): a
client's characters are charged to its budget first (429 when spent), then the texts are
scored in chunks of about CHUNK_CHARS characters on the limiter's worker (503 when its queue
is full), one slot held from the first chunk to the last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from cryptoagg.core.errors import ConfigError, CpuBusy, InvalidInput, PayloadTooLarge
from cryptoagg.resilience.cpu import ClientCostBudget, CpuLimiter

Label = Literal["positive", "negative", "neutral"]

#: VADER's documented thresholds on the compound score
VADER_POSITIVE = 0.05
VADER_NEGATIVE = -0.05
#: characters scored per worker call (VADER's worst case: ~40-80 ms); a longer text is a
#: chunk of its own. Chunks bound what a cancelled request still costs (the rest is not
#: scored) at ~2% of throughput; they do not shorten the loop's waits for the interpreter
#: lock, which CPython's switch interval (5 ms) already bounds (measured: loop lag p50 5.4 ms,
#: max 11-14 ms with one request or 16 chunks per maximum-size request alike)
CHUNK_CHARS = 8_000


@dataclass(frozen=True, slots=True)
class SentimentResult:
    label: Label
    #: -1 (most negative) to 1 (most positive)
    score: float
    model: str


class SentimentBackend(Protocol):
    @property
    def model(self) -> str: ...

    def score(self, texts: Sequence[str]) -> list[SentimentResult]: ...


class VaderBackend:
    model = "vader-3.3.2"

    def __init__(self) -> None:
        self._analyzer = SentimentIntensityAnalyzer()

    def score(self, texts: Sequence[str]) -> list[SentimentResult]:
        results = []
        for text in texts:
            compound = float(self._analyzer.polarity_scores(text)["compound"])
            label: Label = "neutral"
            if compound >= VADER_POSITIVE:
                label = "positive"
            elif compound <= VADER_NEGATIVE:
                label = "negative"
            results.append(SentimentResult(label, round(compound, 4), self.model))
        return results


BACKENDS: dict[str, type[VaderBackend]] = {"vader": VaderBackend}


def check_backend(name: str) -> None:
    if name not in BACKENDS:
        raise ConfigError(
            f"SENTIMENT_BACKEND: {name!r} is not available in this version; use 'vader'"
        )


def make_backend(name: str) -> SentimentBackend:
    check_backend(name)
    return BACKENDS[name]()


class SentimentService:
    def __init__(
        self,
        backend: SentimentBackend,
        max_texts: int,
        max_chars: int,
        *,
        limiter: CpuLimiter,
        budget: ClientCostBudget | None = None,
    ) -> None:
        self.backend = backend
        self.max_texts = max_texts
        self.max_chars = max_chars
        self.limiter = limiter
        #: characters per client per minute (None: no per-client budget)
        self.budget = budget

    def check(self, texts: Sequence[str]) -> None:
        if not texts:
            raise InvalidInput("texts: give at least one text")
        if len(texts) > self.max_texts:
            raise PayloadTooLarge(
                f"texts: at most {self.max_texts} per request ({len(texts)} given)"
            )
        for index, text in enumerate(texts):
            if not text.strip():
                raise InvalidInput(f"texts[{index}]: empty text")
            if len(text) > self.max_chars:
                raise InvalidInput(
                    f"texts[{index}]: at most {self.max_chars} characters ({len(text)} given)"
                )

    async def analyze(
        self, texts: Sequence[str], client: str | None = None
    ) -> list[SentimentResult]:
        """Validate the limits, charge `client`'s budget with the characters (`CostExceeded`
        when spent; None: an internal caller, not charged), then score on the CPU limiter's
        worker (`CpuBusy` when its queue is full; the characters are given back)."""
        self.check(texts)
        cost = sum(len(text) for text in texts)
        if self.budget is not None and client is not None:
            self.budget.spend(client, cost)
        try:
            async with self.limiter.slot() as slot:
                results: list[SentimentResult] = []
                for chunk in chunked(texts, CHUNK_CHARS):
                    results.extend(await slot.run(self.backend.score, chunk))
                return results
        except CpuBusy:
            if self.budget is not None and client is not None:
                self.budget.refund(client, cost)
            raise


def chunked(texts: Sequence[str], chars: int) -> list[list[str]]:
    """Consecutive texts grouped into lists of about `chars` characters (at least one text
    each), in order."""
    chunks: list[list[str]] = []
    current: list[str] = []
    size = 0
    for text in texts:
        if current and size + len(text) > chars:
            chunks.append(current)
            current, size = [], 0
        current.append(text)
        size += len(text)
    if current:
        chunks.append(current)
    return chunks
