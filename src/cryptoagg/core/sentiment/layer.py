"""A learned layer over the market scorer: the label from the scorer's outputs and the
headline's words, weighed by a multinomial logistic regression trained on labelled headlines.

The lexicon reads what its words and phrases say; it cannot know that "Top 5 coins to watch",
"Price predictions 4/27: …" or "… Weekly Recap" report no direction, or that a bank "to start
trading bitcoin" is good news for a holder when no market word says so. The layer learns such
patterns from the development part of the labelled headlines (`bench/sentiment_train.py`
writes its weights; the held-out part is never used to train or tune it). Its features are
the scorer's outputs (score, positive and negative sums, whether it found nothing or an
explainer), whether the headline asks a question, and its words and word pairs.

A reading says which features moved it: the words and word pairs whose weights pushed most
toward the chosen label, each with its push in log-odds (the lexicon's own terms are reported
beside them by the backend). The score is P(positive) - P(negative), -1 to 1.

Pure: the weights come in as a mapping (the backend reads the packaged file).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from cryptoagg.core.sentiment.labels import Label
from cryptoagg.core.sentiment.scorer import Scored, Term

#: the classes, in the order of every weight vector
LABELS: tuple[Label, Label, Label] = ("negative", "neutral", "positive")
#: word features read as learned terms: at most this many per reading
LEARNED_TERMS = 3

_TOKEN = re.compile(r"[a-z][a-z0-9'\-]*|\$?\d[\d,.]*[kmb%]?")
_QUOTES = str.maketrans({"’": "'", "‘": "'"})
#: words too common to weigh alone (they still count in word pairs)
_STOP = frozenset(
    {
        "the", "a", "an", "of", "to", "in", "on", "for", "and", "or", "as", "at", "by", "with",
        "from", "is", "are", "be", "its", "it", "this", "that",
    }
)  # fmt: skip

Vector = tuple[float, float, float]


def tokens(text: str) -> list[str]:
    """The headline's words and figures, lower-cased, without a possessive "'s"."""
    return [t.removesuffix("'s") for t in _TOKEN.findall(text.lower().translate(_QUOTES))]


def features(text: str, scored: Scored) -> dict[str, float]:
    """What the layer weighs: `lex:` the scorer's outputs, `q` a question, `w:` words and
    `b:` word pairs (present: 1)."""
    weights = [t.weight for t in scored.terms]
    found: dict[str, float] = {
        "lex:score": scored.score,
        # sums of valences squashed like the score, so no feature dwarfs the others
        "lex:pos": math.tanh(sum(w for w in weights if w > 0) / 4),
        "lex:neg": math.tanh(sum(w for w in weights if w < 0) / 4),
        "lex:none": float(not weights),
        "lex:explainer": float(len(weights) == 1 and weights[0] == 0.0),
        "q": float("?" in text),
    }
    words = tokens(text)
    found.update((f"w:{w}", 1.0) for w in words if w not in _STOP)
    found.update((f"b:{a} {b}", 1.0) for a, b in itertools.pairwise(words))
    return found


@dataclass(frozen=True, slots=True)
class Reading:
    label: Label
    #: P(positive) - P(negative)
    score: float
    probabilities: Vector
    #: the words and word pairs that pushed most toward `label` (log-odds), strongest first
    terms: tuple[Term, ...]


@dataclass(frozen=True, slots=True)
class Layer:
    version: str
    bias: Vector
    weights: Mapping[str, Vector]

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> Layer:
        """The layer of a weights file's content; `ValueError` naming what is wrong."""
        if data.get("labels") != list(LABELS):
            raise ValueError(f"labels must be {list(LABELS)}")
        version, bias, weights = data.get("version"), data.get("bias"), data.get("weights")
        if not isinstance(version, str) or not version:
            raise ValueError("version: a name is required")
        if not isinstance(weights, Mapping):
            raise ValueError("weights: a mapping of feature to three weights is required")
        return cls(
            version,
            _vector("bias", bias),
            {str(k): _vector(f"weights[{k!r}]", v) for k, v in weights.items()},
        )

    def read(self, text: str, scored: Scored) -> Reading:
        found = [(f, v, w) for f, v in features(text, scored).items() if (w := self.weights.get(f))]
        logits = [b + sum(v * w[k] for _, v, w in found) for k, b in enumerate(self.bias)]
        top = max(logits)
        exp = [math.exp(x - top) for x in logits]
        total = sum(exp)
        probabilities = (exp[0] / total, exp[1] / total, exp[2] / total)
        chosen = max(range(3), key=lambda k: logits[k])
        pushes = [
            (f, v * (w[chosen] - sum(w) / 3)) for f, v, w in found if f.startswith(("w:", "b:"))
        ]
        pushes = sorted((p for p in pushes if p[1] > 0), key=lambda p: -p[1])[:LEARNED_TERMS]
        return Reading(
            LABELS[chosen],
            round(probabilities[2] - probabilities[0], 4),
            probabilities,
            tuple(Term(f[2:], round(push, 3), "layer") for f, push in pushes),
        )


def _vector(name: str, value: object) -> Vector:
    if not isinstance(value, list | tuple) or len(value) != len(LABELS):
        raise ValueError(f"{name}: three numbers (one per label) are required")
    if not all(isinstance(x, int | float) and math.isfinite(x) for x in value):
        raise ValueError(f"{name}: three finite numbers are required")
    return (float(value[0]), float(value[1]), float(value[2]))
