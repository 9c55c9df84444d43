"""Sentiment of short texts (headlines, posts): label, score and the model that said so.

The backend is chosen by SENTIMENT_BACKEND. VADER (a lexicon and rules, no weights to
download) is the default; a transformers backend arrives with the news issue. Scoring is CPU
work, so it runs in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from cryptoagg.core.errors import ConfigError, InvalidInput, PayloadTooLarge

Label = Literal["positive", "negative", "neutral"]

#: VADER's documented thresholds on the compound score
VADER_POSITIVE = 0.05
VADER_NEGATIVE = -0.05


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
    def __init__(self, backend: SentimentBackend, max_texts: int, max_chars: int) -> None:
        self.backend = backend
        self.max_texts = max_texts
        self.max_chars = max_chars

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

    async def analyze(self, texts: Sequence[str]) -> list[SentimentResult]:
        """Validate the limits, then score off the event loop."""
        self.check(texts)
        return await asyncio.to_thread(self.backend.score, list(texts))
