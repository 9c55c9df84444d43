"""A headline's sentiment from market words and phrases, with the terms that moved it.

The score is built the way VADER builds one (valences summed, then squashed into -1..1 with
`s / sqrt(s² + 15)`), so thresholds and scales stay comparable with the VADER backend, but
from what the words mean in market news (`lexicon.py`, `phrases.py`); words of the general
lexicon (VADER's, passed in) count at `general_weight`, except the ones that name market
things. A term's weight is changed by its place in the headline:

- a negator in the four words before it turns it over ("fails to mount a comeback");
- "but"/"however"/"yet" make what follows count more and what precedes less (VADER's rule);
- a clause opened by "despite"/"although" counts little: the headline says the main clause
  holds regardless ("hires 80K despite bear market");
- a clause opened by "after"/"amid" counts half: it is the backdrop, not the news;
- a headline leads with its news: a term's weight falls evenly to 0.8 at the end;
- a rise of a bad thing is bad news, and its fall good news (`shifters.py`).

Every term that moved the score is returned with its weight, so a result can be explained.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from cryptoagg.core.sentiment.lexicon import MARKET, NEGATORS, NEUTRAL, forms
from cryptoagg.core.sentiment.phrases import EXPLAINER, PHRASES, Phrase
from cryptoagg.core.sentiment.shifters import Hit, move_of_phrase, move_of_word, shift

#: VADER's normalisation constant (the sum at which the score is ~0.25)
ALPHA = 15.0
#: words before a term that a negator may stand in
NEGATION_WINDOW = 4
#: a negated term's weight, times its valence (VADER uses -0.74)
NEGATED = -0.74
#: weight of what precedes and follows "but" (VADER's)
BEFORE_BUT = 0.5
AFTER_BUT = 1.5
#: weight of a clause opened by "despite" and its kin
CONCESSION = 0.3
#: weight of a clause opened by "after"/"amid": the backdrop of the news, not the news
BACKDROP = 0.5
#: how much less the last word of a headline counts than the first (headlines lead with the
#: news): 1.0 at the start, falling evenly to 0.8 at the end
LEAD = 0.2

_WORD = re.compile(r"[a-z][a-z'\-]*[a-z]|[a-z]")
#: the general lexicon's entries that are words (VADER's also holds emoticons such as "dx")
_GENERAL_WORD = re.compile(r"[a-z][a-z'\-]+[a-z]")
_BUT = frozenset({"but", "however", "yet"})
_CONCEDE = frozenset({"despite", "although", "though", "notwithstanding"})
_BACKDROP = frozenset({"after", "following", "amid", "amidst"})
#: punctuation that closes a concession clause ("..., despite a dip, X rallies")
_CLAUSE_END = re.compile(r"[,;:|!?]|\s[-–—]\s")
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


@dataclass(frozen=True, slots=True)
class Term:
    """A word or phrase that moved a score: as written, and its weight. `by` "lexicon": its
    valence in the score's sum (the sign is its direction); "layer": a word the learned layer
    leaned on, its push toward the chosen label in log-odds (`layer.py`)."""

    text: str
    weight: float
    by: Literal["lexicon", "layer"] = "lexicon"


@dataclass(frozen=True, slots=True)
class Scored:
    #: -1 (most negative) to 1 (most positive)
    score: float
    #: the terms that moved it, strongest first
    terms: tuple[Term, ...]


class MarketScorer:
    """Scores headlines with the market lexicon and phrases, and optionally a general
    lexicon (word -> valence) for the words of feeling that market news also uses.

    `market` and `phrases` are the tables of `lexicon.py` and `phrases.py` unless given: a
    study that scores without some entries (`bench/sentiment_dev.py`) passes its own."""

    def __init__(
        self,
        general: Mapping[str, float] | None = None,
        *,
        general_weight: float = 0.5,
        market: Mapping[str, float] = MARKET,
        phrases: Sequence[Phrase] = PHRASES,
    ) -> None:
        self._market = market
        self._phrases = phrases
        self._general = {
            word: valence * general_weight
            for word, valence in (general or {}).items()
            if word not in NEUTRAL and word not in NEGATORS and _GENERAL_WORD.fullmatch(word)
        }

    def score(self, text: str) -> Scored:
        lowered = text.lower().translate(_QUOTES)
        explainer = EXPLAINER.search(lowered)
        if explainer is not None:  # it explains, it does not report: no direction
            return Scored(0.0, (Term(text[explainer.start() : explainer.end()].strip(), 0.0),))
        hits, masked = _phrase_hits(lowered, self._phrases)
        words = list(_WORD.finditer(masked))
        hits += [hit for match in words if (hit := self._word_hit(match)) is not None]
        hits = shift(hits, lowered)
        layout = _Layout(lowered, words)
        terms: list[Term] = []
        total = 0.0
        for hit in sorted(hits, key=lambda h: h.start):
            weight = hit.valence * layout.place(hit)
            if weight:  # a phrase of valence 0 only keeps its words from being read
                total += weight
                terms.append(Term(text[hit.start : hit.end].strip(), round(weight, 3)))
        terms.sort(key=lambda t: -abs(t.weight))
        return Scored(round(total / math.sqrt(total * total + ALPHA), 4), tuple(terms))

    def _word_hit(self, match: re.Match[str]) -> Hit | None:
        word = match.group().removesuffix("'s")
        valence = self._valence(word)
        if valence is None and "-" in word:  # "record-breaking": the strongest part
            parts = [v for part in word.split("-") if (v := self._valence(part)) is not None]
            valence = max(parts, key=abs) if parts else None
        if valence is None:
            return None
        return Hit(match.start(), match.start() + len(word), valence, move_of_word(word))

    def _valence(self, word: str) -> float | None:
        if word in NEGATORS or word in NEUTRAL:
            return None
        for form in forms(word):
            if form in self._market:
                return self._market[form]
        return self._general.get(word)


def _phrase_hits(lowered: str, phrases: Sequence[Phrase]) -> tuple[list[Hit], str]:
    """The phrase rules' matches, and the text with them blanked out (same offsets)."""
    hits: list[Hit] = []
    masked = lowered
    for phrase in phrases:
        for match in phrase.pattern.finditer(masked):
            hits.append(
                Hit(match.start(), match.end(), phrase.valence, move_of_phrase(phrase.name))
            )
            blank = " " * (match.end() - match.start())
            masked = masked[: match.start()] + blank + masked[match.end() :]
    return hits, masked


class _Layout:
    """Where a headline's words, clause breaks and structure words are, found once, so a
    term's place is looked up (bisect) rather than searched for: a text of 2,000 characters
    of lexicon words holds hundreds of terms."""

    def __init__(self, lowered: str, words: list[re.Match[str]]) -> None:
        self.length = max(len(lowered), 1)
        self.starts = [w.start() for w in words]
        self.tokens = [w.group() for w in words]
        breaks = list(_CLAUSE_END.finditer(lowered))
        self.break_starts = [b.start() for b in breaks]
        self.break_ends = [b.end() for b in breaks]
        self.buts = self._where(_BUT)
        self.concessions = self._where(_CONCEDE)
        self.backdrops = self._where(_BACKDROP)

    def _where(self, words: frozenset[str]) -> list[int]:
        return [
            start for start, token in zip(self.starts, self.tokens, strict=True) if token in words
        ]

    def broken(self, start: int, end: int) -> bool:
        """Whether a clause break lies wholly between `start` and `end`."""
        i = bisect.bisect_left(self.break_starts, start)
        return i < len(self.break_starts) and self.break_ends[i] <= end

    def place(self, hit: Hit) -> float:
        """How much a term counts where it stands: lead, negation, "but", concession and
        backdrop clauses."""
        factor = 1.0 - LEAD * hit.start / self.length
        index = bisect.bisect_left(self.starts, hit.start)  # words before the term
        negators = [
            self.starts[i]
            for i in range(max(0, index - NEGATION_WINDOW), index)
            if self.tokens[i] in NEGATORS
        ]
        if negators and not self.broken(negators[-1], hit.start):
            factor *= NEGATED
        if self.buts:
            factor *= AFTER_BUT if self.buts[0] < hit.start else BEFORE_BUT
        factor *= self._clause(hit, self.concessions, CONCESSION)
        return factor * self._clause(hit, self.backdrops, BACKDROP)

    def _clause(self, hit: Hit, openers: list[int], weight: float) -> float:
        """`weight` when the nearest of `openers` before the term opens the clause it is in."""
        i = bisect.bisect_left(openers, hit.start)
        if i and not self.broken(openers[i - 1], hit.start):
            return weight
        return 1.0
