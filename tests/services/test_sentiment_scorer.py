"""The market scorer's rules (`core/sentiment`), each on a headline that needs it."""

from __future__ import annotations

import pytest

from cryptoagg.core.sentiment import MarketScorer
from cryptoagg.core.sentiment import scorer as sentiment_scorer
from cryptoagg.core.sentiment.labels import label_map
from cryptoagg.core.sentiment.lexicon import MARKET, forms
from cryptoagg.core.sentiment.phrases import PHRASES


@pytest.fixture
def scorer(monkeypatch: pytest.MonkeyPatch) -> MarketScorer:
    # the market lexicon alone, every place counting the same (test_the_lead_counts_most
    # checks that rule): every weight below is a rule's own
    monkeypatch.setattr(sentiment_scorer, "LEAD", 0.0)
    return MarketScorer()


def weights(scorer: MarketScorer, text: str) -> dict[str, float]:
    return {t.text: t.weight for t in scorer.score(text).terms}


def test_words_are_found_under_their_inflections() -> None:
    assert "surge" in forms("surges") and "surge" in forms("surged")
    assert "rally" in forms("rallies") and "plunge" in forms("plunging")
    assert "slip" in forms("slipped") and "dip" in forms("dipping")


def test_phrases_are_read_before_their_words(scorer: MarketScorer) -> None:
    assert weights(scorer, "Solana hits a 20-month high") == {"20-month high": 2.5}
    assert weights(scorer, "Lender files for Chapter 11 bankruptcy") == {
        "files for Chapter 11 bankruptcy": -3.5
    }
    assert weights(scorer, "Bitcoin falls below $60,000") == {"falls": -2.0, "below $60,000": -1.5}
    # a figure's pattern may take the space after it: the term is named without it
    texts = [
        t.text for t in scorer.score("Bitcoin plunges below $60,000 as liquidations mount").terms
    ]
    assert "below $60,000" in texts
    assert weights(scorer, "NEO price is up 20.99%") == {"up 20.99%": 2.0}
    # a falling supply is a scarcer asset; sales at a high are selling
    assert weights(scorer, "Ether supply hits lowest level since 2022") == {
        "supply hits lowest": 2.0
    }
    assert weights(scorer, "BTC sales hit 18-month high") == {"sales hit 18-month high": -2.0}


def test_a_negator_turns_the_next_words_over(scorer: MarketScorer) -> None:
    assert weights(scorer, "XRP fails to mount a comeback") == {"comeback": pytest.approx(-1.48)}
    # only within its clause
    assert weights(scorer, "No surprise: Bitcoin rallies") == {"rallies": 2.5}


def test_but_and_despite_weigh_the_main_clause(scorer: MarketScorer) -> None:
    assert weights(scorer, "Bitcoin gains but altcoins slump") == {
        "gains": 1.0,
        "slump": -3.75,
    }
    mixed = scorer.score("Exchange hires 500 despite bear market")
    assert weights(scorer, "Exchange hires 500 despite bear market") == {
        "hires": 1.0,
        "bear market": pytest.approx(-0.6),
    }
    assert mixed.score > 0
    # "after" and "amid" set the scene: half weight
    assert weights(scorer, "Dogecoin rebounds after a month-long slump") == {
        "rebounds": 2.0,
        "slump": -1.25,
    }


def test_an_explainer_is_neutral_whatever_its_words(scorer: MarketScorer) -> None:
    explained = scorer.score("What is a crypto crash, and how does it work?")
    assert explained.score == 0.0
    assert [(t.text, t.weight) for t in explained.terms] == [("What is", 0.0)]


def test_scores_are_squashed_like_vaders(scorer: MarketScorer) -> None:
    # s / sqrt(s² + 15): 2.5 -> 0.5423; nothing found -> 0
    assert scorer.score("ETH rallies").score == 0.5423
    assert scorer.score("Bitcoin conference in Lisbon sets its dates").score == 0.0


def test_general_words_count_at_half_weight_unless_they_name_market_things() -> None:
    scorer = MarketScorer({"great": 3.1, "demand": -0.5, "like": 2.0, "dx": -1.5})
    assert weights(scorer, "Great demand for coins like DX") == {"Great": 1.55}


def test_the_lead_counts_most() -> None:
    # 1.0 at the first character, 0.8 at the end: "surges" starts at 8 of 14 characters
    assert weights(MarketScorer(), "Bitcoin surges") == {
        "surges": pytest.approx(2.5 * (1 - 0.2 * 8 / 14), abs=1e-3)
    }


def test_the_move_of_a_bad_thing_takes_its_sign(scorer: MarketScorer) -> None:
    assert weights(scorer, "Liquidations surge") == {"Liquidations": -2.0, "surge": -2.5}
    assert weights(scorer, "A surge in phishing scams") == {
        "surge": -2.5,
        "phishing": -2.5,
        "scams": -3.0,
    }
    # a bad thing falling is the news: the thing no longer counts against the headline
    assert weights(scorer, "Crypto hack losses drop 50% in 2023") == {"drop 50%": 2.0}
    assert weights(scorer, "Inflation cools") == {"cools": 1.0}
    # "as" starts another clause: the stocks drop, the yields rise
    assert weights(scorer, "Stocks drop as bond yields rise") == {"drop": -2.0, "rise": -1.5}


def test_a_scorer_can_leave_entries_out(scorer: MarketScorer) -> None:
    # what bench/sentiment_dev.py does to estimate unseen headlines from dev alone
    without = MarketScorer(
        market={word: v for word, v in MARKET.items() if word != "soar"},
        phrases=[p for p in PHRASES if p.name != "record high"],
    )
    headline = "Solana soars to a 20-month high"
    assert weights(scorer, headline) == {"soars": 3.0, "20-month high": 2.5}
    assert weights(without, headline) == {"high": 1.0}  # the word, once no phrase takes it


def test_model_labels_are_read_or_refused() -> None:
    assert label_map({"0": "positive", "1": "negative", "2": "neutral"}) == {
        0: "positive",
        1: "negative",
        2: "neutral",
    }
    assert label_map({0: "Bearish", 1: "Bullish"}) == {0: "negative", 1: "positive"}
    with pytest.raises(ValueError, match="cannot read 'LABEL_0'"):
        label_map({"0": "LABEL_0", "1": "LABEL_1"})
    with pytest.raises(ValueError, match="needs a positive and a negative class"):
        label_map({"0": "neutral", "1": "positive"})
    with pytest.raises(ValueError, match="no id2label"):
        label_map(None)
