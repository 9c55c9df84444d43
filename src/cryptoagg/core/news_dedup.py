"""When two news items are the same story: canonical URL, GUID, or a near-identical title.

- **Canonical URL**: scheme and host lower-cased, `www.` and the fragment dropped, tracking
  parameters (`utm_*`, `fbclid`, `gclid`, `ref`, …) removed, the rest sorted, no trailing
  slash. Two items with the same canonical URL are one.
- **GUID**: an RSS `<guid>` (or a provider's post id) names one story at one outlet.
- **Near-identical title** within `window` (48 h): the titles' similarity (difflib's ratio on
  the normalised text: lower case, punctuation and Title Case gone) is at least `threshold`,
  they name the same assets, carry the same figures, and no word where they differ is a name
  (capitalised past the first word). The last three keep apart stories that differ only where
  it matters: "ETF flows lift Ethereum…" and "ETF flows lift Litecoin…" (even when neither
  is linked to an asset), or "Bitcoin falls below $60,000" and "… below $58,000".

The first item stored is kept; later copies add their source to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from difflib import SequenceMatcher
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

#: query parameters that only say where a click came from
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid", "ref",
        "ref_src", "ref_url", "referrer", "source", "src", "cmpid", "campaign", "_ga", "_gl",
        "spm", "share", "sharetype", "s_cid", "ncid", "guccounter", "output", "rss",
    }
)  # fmt: skip

TITLE_THRESHOLD = 0.88
TITLE_WINDOW = timedelta(hours=48)

_NON_WORD = re.compile(r"[^\w$%.]+")
_FIGURE = re.compile(r"\d[\d,.]*")
_WORDS = re.compile(r"[\w$%]+(?:['’.][\w]+)*")


def canonical_url(url: str) -> str:
    """`url` without what differs between copies of one link; unparseable input as given."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    if not parts.scheme or not parts.netloc:
        return url.strip()
    host = parts.netloc.lower().removeprefix("www.")
    scheme = "https" if parts.scheme.lower() in ("http", "https") else parts.scheme.lower()
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
    )
    path = parts.path.rstrip("/") or ""
    return urlunsplit((scheme, host, path, urlencode(query), ""))


def normalised_title(title: str) -> str:
    return " ".join(_NON_WORD.sub(" ", title.lower()).split()).strip(" .")


def figures(title: str) -> frozenset[str]:
    """The numbers a title carries ("$60,000" and "60000" are one figure)."""
    return frozenset(m.group().rstrip(".,").replace(",", "") for m in _FIGURE.finditer(title))


@dataclass(frozen=True, slots=True)
class StoryKey:
    """What a stored item is compared by."""

    canonical_url: str
    guid: str | None
    #: the normalised title; empty: compared by URL and GUID only
    title: str
    #: the title's words as written (for telling names apart)
    words: tuple[str, ...]
    assets: frozenset[str]
    figures: frozenset[str]
    published_at: datetime

    @classmethod
    def of(
        cls,
        url: str,
        title: str,
        published_at: datetime,
        assets: Iterable[str] = (),
        guid: str | None = None,
    ) -> StoryKey:
        return cls(
            canonical_url(url),
            guid.strip() if guid and guid.strip() else None,
            normalised_title(title),
            tuple(_WORDS.findall(title)),
            frozenset(assets),
            figures(title),
            published_at,
        )


def same_story(
    a: StoryKey,
    b: StoryKey,
    *,
    threshold: float = TITLE_THRESHOLD,
    window: timedelta = TITLE_WINDOW,
) -> str | None:
    """Why `a` and `b` are one story (`"url"`, `"guid"`, `"title"`), or None."""
    if a.canonical_url == b.canonical_url:
        return "url"
    if a.guid is not None and a.guid == b.guid:
        return "guid"
    if not a.title or not b.title:  # a key known by URL and GUID only
        return None
    if abs(a.published_at - b.published_at) > window:
        return None
    if a.assets != b.assets or a.figures != b.figures:
        return None
    if a.title == b.title:
        return "title"
    ratio = SequenceMatcher(None, a.title, b.title, autojunk=False).ratio()
    if ratio < threshold or _names_differ(a.words, b.words):
        return None
    return "title"


def _names_differ(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether a word where the titles differ is a name: capitalised past the first word."""
    lower_a, lower_b = [w.lower() for w in a], [w.lower() for w in b]
    matcher = SequenceMatcher(None, lower_a, lower_b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        changed = [(n, a[n]) for n in range(i1, i2)] + [(n, b[n]) for n in range(j1, j2)]
        if any(n > 0 and word[:1].isupper() for n, word in changed):
            return True
    return False


def first_match(key: StoryKey, stored: Iterable[tuple[int, StoryKey]]) -> tuple[int, str] | None:
    """The id of the first stored story `key` repeats, and why."""
    for item_id, other in stored:
        reason = same_story(key, other)
        if reason is not None:
            return item_id, reason
    return None
