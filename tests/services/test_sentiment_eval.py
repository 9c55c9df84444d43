"""Every backend measured on real labelled headlines (`tests/fixtures/sentiment`), on the
held-out part of the fixed split: the default is held to the issue's targets (85% on the
positive and negative headlines, 75% overall; not reached yet, so that test is an expected
failure) and to what it measures now; raw VADER is measured and printed (`pytest -s`), not
held to them. The lexicon was tuned on the development part only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cryptoagg.services.sentiment import SentimentBackend, make_backend
from tests.fixtures.sentiment import tiny_model
from tests.fixtures.sentiment.headlines import HEADLINES, Accuracy, accuracy, load, part_of

README = HEADLINES.with_name("README.md")
SOURCE = re.compile(
    r"github:(?P<repo>[\w.-]+/[\w.-]+)@[0-9a-f]{40}:\S+|cryptoagg:tests/fixtures/providers/news/\S+"
)


def measure(backend: SentimentBackend, part: str = "test") -> Accuracy:
    result = accuracy(load(part), lambda texts: [r.label for r in backend.score(texts)])
    print(
        f"{backend.model} on {part}: {result.polar:.1%} of {part}'s positive/negative, "
        f"{result.overall:.1%} overall ({result.headlines} headlines)"
    )
    return result


#: the issue's targets on the held-out part
TARGET_POLAR, TARGET_OVERALL = 0.85, 0.75
#: what this version measures there (78.4% and 71.0% of 4,507): a floor against regressions
FLOOR_POLAR, FLOOR_OVERALL = 0.78, 0.705


@pytest.mark.xfail(
    strict=True,  # reaching the targets fails this test: then drop the mark
    reason="not reached: 78.4% of the held-out positive/negative headlines, 71.0% overall",
)
def test_the_default_reads_held_out_headlines_at_the_targets() -> None:
    held_out = measure(make_backend("market"))
    assert held_out.polar >= TARGET_POLAR
    assert held_out.overall >= TARGET_OVERALL


def test_the_default_keeps_its_held_out_accuracy() -> None:
    held_out = measure(make_backend("market"))
    assert held_out.polar >= FLOOR_POLAR
    assert held_out.overall >= FLOOR_OVERALL


def test_raw_vader_is_measured_and_far_below() -> None:
    vader = measure(make_backend("vader"))
    market = measure(make_backend("market"))
    assert vader.polar < market.polar - 0.2 and vader.overall < market.overall - 0.15


def test_the_model_backend_is_measured_the_same_way(tmp_path: Path) -> None:
    # the tiny test model knows eight words: measured, to show the path, not for its figures
    held_out = measure(make_backend("onnx", tiny_model.build(tmp_path)))
    assert held_out.headlines == len(load("test"))


def test_the_split_is_fixed_by_the_text() -> None:
    dev, test, every = load("dev"), load("test"), load()
    assert len(dev) + len(test) == len(every) >= 300
    assert {h.text for h in dev}.isdisjoint(h.text for h in test)
    assert 0.3 <= len(test) / len(every) <= 0.5
    # the bucket is the first 32 bits of the text's SHA-256, modulo 5: 0 and 1 are held out
    assert part_of("Bitcoin soars to record high") == "dev"
    assert part_of("ETH rallies to a record high") == "test"


def test_every_headline_says_where_it_comes_from() -> None:
    every = load()
    readme = README.read_text(encoding="utf-8")
    assert len({h.text for h in every}) == len(every)  # no headline twice
    for headline in every:
        assert headline.label in ("positive", "negative", "neutral")
        # as published: no escape sequences or mojibake left from a source's encoding
        assert not re.search(r"\\[xu][0-9a-f]|[\x80-\x9f\u200b]|â€", headline.text), headline.text
        match = SOURCE.fullmatch(headline.source)
        assert match, headline.source
        # a link to the article, or none when the source gives none
        assert headline.url == "" or headline.url.startswith(("http://", "https://"))
        named = match.group("repo") or headline.source.removeprefix("cryptoagg:")
        assert named in readme, f"{named} is not described in README.md"
    assert "licence" in readme.lower() and "labelling guide" in readme.lower()
