"""The lexicon backends: `market` (the default) and `vader`, both without weights to download.

`vader` is VADER 3.3.2 as published: a general-purpose lexicon that misreads market news
("soars", "rally", "plunge" are not in it; "demand" is negative). `market` scores with the
market lexicon and phrases of `core/sentiment` and VADER's lexicon for the general words
(at half weight), and says which terms moved each score. Measured on the labelled headlines
of `tests/fixtures/sentiment` (held-out part): see `bench/sentiment.py`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from cryptoagg.core.sentiment import MarketScorer, Term
from cryptoagg.services.sentiment_result import SentimentResult, label_of

#: bump when the market lexicon, its phrases or its rules change: stored scores name it
MARKET_MODEL = "market-lexicon-1"
_WORDS = re.compile(r"[A-Za-z][A-Za-z'\-]*[A-Za-z]|[A-Za-z]")


class VaderBackend:
    model = "vader-3.3.2"

    def __init__(self) -> None:
        self._analyzer = SentimentIntensityAnalyzer()

    def score(self, texts: Sequence[str]) -> list[SentimentResult]:
        results = []
        for text in texts:
            compound = round(float(self._analyzer.polarity_scores(text)["compound"]), 4)
            results.append(
                SentimentResult(label_of(compound), compound, self.model, self._terms(text))
            )
        return results

    def _terms(self, text: str) -> tuple[Term, ...]:
        """The lexicon words of `text` with their lexicon valence (VADER's rules then adjust
        them for negation, boosters and "but"; it does not report what each one added)."""
        lexicon = self._analyzer.lexicon
        found = [
            Term(word, float(lexicon[word.lower()]))
            for word in _WORDS.findall(text)
            if word.lower() in lexicon
        ]
        return tuple(sorted(found, key=lambda t: -abs(t.weight)))


class MarketBackend:
    model = MARKET_MODEL

    def __init__(self) -> None:
        self._scorer = MarketScorer(SentimentIntensityAnalyzer().lexicon)

    def score(self, texts: Sequence[str]) -> list[SentimentResult]:
        results = []
        for text in texts:
            scored = self._scorer.score(text)
            results.append(
                SentimentResult(label_of(scored.score), scored.score, self.model, scored.terms)
            )
        return results
