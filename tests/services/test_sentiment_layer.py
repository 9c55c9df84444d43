"""The learned layer over the market scorer: its features, its reading of a headline with
weights given by hand, the checks on a weights file, and the packaged weights."""

from __future__ import annotations

import math

import pytest

from cryptoagg.core.sentiment import Scored, Term
from cryptoagg.core.sentiment.layer import LABELS, Layer, features
from cryptoagg.services.sentiment_lexicon import MarketBackend, packaged_layer

NOTHING = Scored(0.0, ())


def test_features_are_the_scorer_outputs_a_question_and_the_words() -> None:
    scored = Scored(0.5, (Term("soars", 2.0), Term("risk", -1.0)))
    found = features("Bitcoin’s price soars? Top 5 coins", scored)
    assert found["lex:score"] == 0.5
    assert found["lex:pos"] == pytest.approx(math.tanh(0.5))
    assert found["lex:neg"] == pytest.approx(math.tanh(-0.25))
    assert (found["lex:none"], found["lex:explainer"], found["q"]) == (0.0, 0.0, 1.0)
    words = {f for f in found if f.startswith("w:")}
    assert words == {"w:bitcoin", "w:price", "w:soars", "w:top", "w:5", "w:coins"}
    assert "b:top 5" in found and "b:bitcoin price" in found  # the possessive is dropped
    assert (
        features("What is a blockchain", Scored(0.0, (Term("What is", 0.0),)))["lex:explainer"]
        == 1.0
    )


def layer(weights: dict[str, list[float]]) -> Layer:
    return Layer.from_mapping(
        {"version": "test", "labels": list(LABELS), "bias": [0.0, 0.5, 0.0], "weights": weights}
    )


def test_a_reading_takes_the_likeliest_label_and_names_the_words_behind_it() -> None:
    by_hand = layer(
        {"w:listing": [0.0, 0.0, 2.0], "w:coins": [0.0, 1.0, 0.0], "w:exchange": [0.0, 0.0, 0.3]}
    )
    reading = by_hand.read("Exchange listing for two coins", NOTHING)
    # logits: negative 0, neutral 0.5 + 1.0, positive 2.0 + 0.3
    assert reading.label == "positive"
    exp = [math.exp(x) for x in (0.0, 1.5, 2.3)]
    assert reading.probabilities == pytest.approx(tuple(x / sum(exp) for x in exp))
    assert reading.score == round((exp[2] - exp[0]) / sum(exp), 4)
    # pushes toward "positive": each weight less the mean of its three; "coins" pushes away
    assert [(t.text, t.weight, t.by) for t in reading.terms] == [
        ("listing", 1.333, "layer"),
        ("exchange", 0.2, "layer"),
    ]
    unknown = by_hand.read("Nothing it knows", NOTHING)
    assert (unknown.label, unknown.terms) == ("neutral", ())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"labels": ["positive", "negative", "neutral"]}, "labels must be"),
        ({"version": ""}, "version"),
        ({"bias": [0.0, 1.0]}, "bias: three numbers"),
        ({"weights": {"w:x": [1.0, "a", 0.0]}}, "three finite numbers"),
        ({"weights": {"w:x": [1.0, float("nan"), 0.0]}}, "three finite numbers"),
        ({"weights": []}, "weights: a mapping"),
    ],
)
def test_a_broken_weights_file_is_refused_naming_the_problem(
    change: dict[str, object], message: str
) -> None:
    good = {"version": "v", "labels": list(LABELS), "bias": [0, 0, 0], "weights": {}}
    with pytest.raises(ValueError, match=message):
        Layer.from_mapping({**good, **change})


def test_the_packaged_layer_is_the_defaults() -> None:
    packaged = packaged_layer()
    assert packaged.version == "market-layer-1"
    assert len(packaged.weights) > 1000
    assert MarketBackend().model == "market-lexicon-1+market-layer-1"
    assert MarketBackend(learned=False).model == "market-lexicon-1"
    # a question with no direction: the lexicon's "buy" leans positive, the layer reads neutral
    (asked,) = MarketBackend().score(["Should you buy Bitcoin now?"])
    (alone,) = MarketBackend(learned=False).score(["Should you buy Bitcoin now?"])
    assert (alone.label, asked.label) == ("positive", "neutral")
