"""The labels a sequence-classification model answers with, read as ours.

An exported model names its classes in `config.json` (`id2label`, as Hugging Face exports
write it): FinBERT says "positive", "negative", "neutral", others "POSITIVE"/"NEGATIVE" or
"bullish"/"bearish". A model whose classes cannot be read as these (say "LABEL_0") is refused
at start-up rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Label = Literal["positive", "negative", "neutral"]

_NAMES: dict[str, Label] = {
    "positive": "positive",
    "pos": "positive",
    "bullish": "positive",
    "negative": "negative",
    "neg": "negative",
    "bearish": "negative",
    "neutral": "neutral",
    "neu": "neutral",
}


def label_map(id2label: object) -> dict[int, Label]:
    """Class index -> our label, from a config's `id2label`; `ValueError` saying what is wrong
    when it is not a mapping of indexes to readable names covering positive and negative."""
    if not isinstance(id2label, Mapping) or not id2label:
        raise ValueError("config.json has no id2label mapping")
    found: dict[int, Label] = {}
    for key, name in id2label.items():
        try:
            index = int(key)
        except (TypeError, ValueError):
            raise ValueError(f"config.json id2label: {key!r} is not a class index") from None
        label = _NAMES.get(str(name).strip().lower())
        if label is None:
            raise ValueError(
                f"config.json id2label: cannot read {name!r} as positive, negative or neutral"
            )
        found[index] = label
    if sorted(found) != list(range(len(found))):
        raise ValueError("config.json id2label: class indexes must be 0..n-1")
    if {"positive", "negative"} - set(found.values()):
        raise ValueError("config.json id2label: needs a positive and a negative class")
    return found
