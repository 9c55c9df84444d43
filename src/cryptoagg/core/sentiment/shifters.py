"""Moves of bad things: "liquidations surge" is bad news although "surge" is a good word, and
"hack losses drop 50%" good news although both of its words are bad.

A word of movement (`UP`, `DOWN`, and the phrases of price moves) takes its sign from what
it moves: next to a thing whose growth hurts a holder (`BAD`: losses, outflows, hacks,
inflation, rates…), within REACH words and the same clause, a rise counts as bad news and a
fall as good news; and when such a thing falls, the thing itself no longer counts against
the headline (its falling is the news).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, replace

from cryptoagg.core.sentiment.lexicon import forms


def _words(text: str) -> list[str]:
    return text.split()


UP = frozenset(
    _words(
        "surge soar rally jump climb rise rose risen gain spike skyrocket explode double triple "
        "quadruple boom grow growth higher high increase mount balloon swell top record"
    )
)
DOWN = frozenset(
    _words(
        "plunge crash tumble slump sink slide slip fall fell drop dip decline plummet dive tank "
        "lower low shrink ease cool fade wane halve decrease retreat"
    )
)
#: things whose growth hurts a holder of the asset
BAD = frozenset(
    _words(
        "loss losses liquidation outflow hack exploit scam fraud theft inflation unemployment debt "
        "deficit volatility fear selling redemption layoff bankruptcy default complaint lawsuit "
        "yield rates rate-hike hike scrutiny risk attack phishing"
    )
)
UP_PHRASES = frozenset({"record high", "price up", "above a level"})
DOWN_PHRASES = frozenset({"record low", "price down", "below a level"})
#: words between a move and the thing it moves
REACH = 3

_WORD = re.compile(r"[a-z][a-z'\-]*[a-z]|[a-z]")
_CLAUSE_END = re.compile(r"[,;:|!?]|\s[-–—]\s")
#: words that start another clause: "stocks drop as yields rise"
_BREAKS = frozenset(
    _words("as while after amid despite but and though although following since because")
)
#: words that attach a move to the thing after it: "a surge in liquidations"
_JOINS = frozenset({"in", "of"})


@dataclass(frozen=True, slots=True)
class Hit:
    """A term found in a headline: where, its valence, and whether it is a move."""

    start: int
    end: int
    valence: float
    #: "up" or "down" for a word or phrase of movement, else None
    move: str | None = None


def move_of_word(word: str) -> str | None:
    found = forms(word)
    if any(f in UP for f in found):
        return "up"
    if any(f in DOWN for f in found):
        return "down"
    return None


def move_of_phrase(name: str) -> str | None:
    if name in UP_PHRASES:
        return "up"
    if name in DOWN_PHRASES:
        return "down"
    return None


def shift(hits: list[Hit], lowered: str) -> list[Hit]:
    """`hits` with the moves of bad things turned over (see the module docstring)."""
    words = list(_WORD.finditer(lowered))
    bad = [i for i, w in enumerate(words) if any(f in BAD for f in forms(w.group()))]
    if not bad:
        return hits
    starts = [w.start() for w in words]
    silenced: set[int] = set()  # starts of bad-thing hits whose fall is the news
    shifted: list[Hit] = []
    for hit in hits:
        near = [] if hit.move is None else _near(hit, bad, words, starts, lowered)
        if not near:
            shifted.append(hit)
        elif hit.move == "up":
            shifted.append(replace(hit, valence=-abs(hit.valence)))
        else:
            shifted.append(replace(hit, valence=abs(hit.valence)))
            silenced.update(starts[i] for i in near)
    return [h if h.start not in silenced else replace(h, valence=0.0) for h in shifted]


def _near(
    hit: Hit, bad: list[int], words: list[re.Match[str]], starts: list[int], lowered: str
) -> list[int]:
    """The bad things (word indexes) the move `hit` is said of: the thing before its move
    ("losses mount", "outflows hit a record high"), or after it when joined by "in"/"of" ("a
    surge in liquidations") or qualified by it ("rising inflation"); within REACH words, with
    no clause break or conjunction between them."""
    first = bisect.bisect_left(starts, hit.start)  # the move's words: first..last
    last = bisect.bisect_left(starts, hit.end) - 1
    found = []
    for i in bad:
        if first <= i <= last or not first - REACH - 1 <= i <= last + REACH + 1:
            continue
        before = i < first
        between = [w.group() for w in (words[i + 1 : first] if before else words[last + 1 : i])]
        if len(between) >= REACH or _BREAKS.intersection(between):
            continue
        span = (words[i].end(), hit.start) if before else (hit.end, words[i].start())
        if _CLAUSE_END.search(lowered, *span):
            continue
        moved = lowered[hit.start : hit.end]
        if before or _JOINS.intersection(between) or (not between and _qualifies(moved)):
            found.append(i)
    return found


def _qualifies(move: str) -> bool:
    """Whether a move written just before a thing describes it: "rising inflation", "higher
    rates", "record outflows"."""
    return move.endswith(("ing", "er")) or move == "record"
