"""The slowest sentiment input found, shared by `tests/e2e/test_cpu_abuse.py` and
`bench/cpu_abuse.py`."""

from __future__ import annotations

import random

#: lexicon words and boosters: every token is scored, and no punctuation splits the text
#: (VADER's cost grows faster than the length of a sentence: ~10 ms for 2,000 characters)
WORDS = (
    "bitcoin rallies great crash terrible good bad the market is not very happy but "
    "investors love gains losses hack"
)


def heavy_texts(count: int, chars: int, seed: int = 1) -> list[str]:
    """`count` texts of about `chars` characters of lexicon words, no punctuation."""
    rng = random.Random(seed)
    vocabulary = WORDS.split()
    texts = []
    for _ in range(count):
        words: list[str] = []
        size = 0
        while size < chars:
            word = rng.choice(vocabulary)
            words.append(word)
            size += len(word) + 1
        texts.append(" ".join(words)[:chars].strip())
    return texts
