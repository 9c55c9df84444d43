"""The lexicon backends: `market` (the default) and `vader`, both without weights to download.

`vader` is VADER 3.3.2 as published: a general-purpose lexicon that misreads market news
("soars", "rally", "plunge" are not in it; "demand" is negative). `market` scores with the
market lexicon and phrases of `core/sentiment` and VADER's lexicon for the general words
(at half weight), then lets the learned layer (`core/sentiment/layer.py`, its weights
packaged beside it in `layer.json`, 160 KB) decide the label from the scorer's outputs and
the headline's words; each result lists the lexicon's terms and the words the layer leaned
on. Measured on the labelled headlines of `tests/fixtures/sentiment` (held-out part): see
`bench/sentiment.py`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from importlib import resources

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from cryptoagg.core.errors import ConfigError
from cryptoagg.core.sentiment import MarketScorer, Term
from cryptoagg.core.sentiment.layer import Layer
from cryptoagg.services.sentiment_result import SentimentResult, label_of

#: bump when the market lexicon, its phrases or its rules change: stored scores name it (with
#: the layer's version: "market-lexicon-1+market-layer-1")
MARKET_MODEL = "market-lexicon-1"
#: the learned layer's weights, packaged with `core/sentiment`
LAYER_FILE = "layer.json"
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


def packaged_layer() -> Layer:
    """The learned layer shipped with the package; `ConfigError` when its file is broken."""
    source = resources.files("cryptoagg.core.sentiment").joinpath(LAYER_FILE)
    try:
        return Layer.from_mapping(json.loads(source.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise ConfigError(f"the market backend's {LAYER_FILE}: {exc}") from None


class MarketBackend:
    """The market scorer, and the learned layer over it (None: the score's sign decides, as
    in the lexicon-only version)."""

    def __init__(self, layer: Layer | None = None, *, learned: bool = True) -> None:
        self._scorer = MarketScorer(SentimentIntensityAnalyzer().lexicon)
        self._layer = layer if layer is not None or not learned else packaged_layer()
        self.model = (
            f"{MARKET_MODEL}+{self._layer.version}" if self._layer is not None else MARKET_MODEL
        )

    def score(self, texts: Sequence[str]) -> list[SentimentResult]:
        results = []
        for text in texts:
            scored = self._scorer.score(text)
            if self._layer is None:
                label, score, terms = label_of(scored.score), scored.score, scored.terms
            else:
                reading = self._layer.read(text, scored)
                label, score = reading.label, reading.score
                terms = scored.terms + reading.terms
            results.append(SentimentResult(label, score, self.model, terms))
        return results
