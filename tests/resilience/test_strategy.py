from __future__ import annotations

import random
from collections import Counter

from cryptoagg.resilience.strategy import Strategy, order

NAMES = ["a", "b", "c"]


def test_priority_keeps_order_and_moves_near_limit_last() -> None:
    assert order(Strategy.PRIORITY, NAMES) == ["a", "b", "c"]
    assert order(Strategy.PRIORITY, NAMES, near_limit=lambda n: n == "a") == ["b", "c", "a"]


def test_round_robin() -> None:
    assert [order(Strategy.ROUND_ROBIN, NAMES, turn=t)[0] for t in range(4)] == ["a", "b", "c", "a"]


def test_weighted_follows_the_weights() -> None:
    rng = random.Random(42)
    firsts = Counter(
        order(Strategy.WEIGHTED, NAMES, weights={"a": 8, "b": 1, "c": 1}, rng=rng)[0]
        for _ in range(2000)
    )
    assert 0.75 < firsts["a"] / 2000 < 0.85
    assert firsts["b"] > 100 and firsts["c"] > 100


def test_least_used() -> None:
    used = {"a": 9, "b": 1, "c": 5}
    assert order(Strategy.LEAST_USED, NAMES, calls_last_minute=used.__getitem__) == ["b", "c", "a"]


def test_fastest_response_measures_unknown_members_first() -> None:
    p50 = {"a": 300.0, "b": None, "c": 40.0}
    assert order(Strategy.FASTEST_RESPONSE, NAMES, p50_ms=p50.__getitem__) == ["b", "c", "a"]
