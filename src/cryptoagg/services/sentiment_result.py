"""What a sentiment backend answers: a label, a score, the model, and the terms that moved it.

Kept apart from `sentiment.py` so the backends (`sentiment_lexicon.py`, `sentiment_onnx.py`)
and the service that runs them share the types without importing each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptoagg.core.sentiment import Term
from cryptoagg.core.sentiment.labels import Label

#: VADER's documented thresholds on the compound score (the market lexicon uses its scale)
VADER_POSITIVE = 0.05
VADER_NEGATIVE = -0.05


@dataclass(frozen=True, slots=True)
class SentimentResult:
    label: Label
    #: -1 (most negative) to 1 (most positive)
    score: float
    model: str
    #: the words and phrases that moved the score, strongest first (empty for a model)
    terms: tuple[Term, ...] = ()


class SentimentBackend(Protocol):
    @property
    def model(self) -> str: ...

    def score(self, texts: Sequence[str]) -> list[SentimentResult]: ...


def label_of(score: float) -> Label:
    """A compound score's label at VADER's thresholds."""
    if score >= VADER_POSITIVE:
        return "positive"
    if score <= VADER_NEGATIVE:
        return "negative"
    return "neutral"


__all__ = [
    "VADER_NEGATIVE",
    "VADER_POSITIVE",
    "Label",
    "SentimentBackend",
    "SentimentResult",
    "Term",
    "label_of",
]
