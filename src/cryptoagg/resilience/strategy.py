"""Pool strategies: the order in which a pool tries its members.

`priority` keeps the configured order; `round_robin` starts one further each call;
`weighted` draws an order at random in proportion to the weights; `least_used` prefers the
fewest calls in the last minute; `fastest_response` the lowest recent p50 latency. Whatever
the strategy, a member near its monthly budget goes last.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")


class Strategy(StrEnum):
    PRIORITY = "priority"
    ROUND_ROBIN = "round_robin"
    WEIGHTED = "weighted"
    LEAST_USED = "least_used"
    FASTEST_RESPONSE = "fastest_response"


def weighted_order(
    names: Sequence[str], weights: Mapping[str, float], rng: random.Random
) -> list[str]:
    """A random order where each next member is drawn in proportion to its weight."""
    left = list(names)
    out = []
    while left:
        total = sum(max(weights.get(n, 1.0), 0.0) for n in left)
        if total <= 0:
            out.extend(left)
            break
        pick = rng.uniform(0, total)
        for name in left:
            pick -= max(weights.get(name, 1.0), 0.0)
            if pick <= 0:
                break
        out.append(name)
        left.remove(name)
    return out


def order(
    strategy: Strategy,
    names: Sequence[str],
    *,
    turn: int = 0,
    weights: Mapping[str, float] | None = None,
    rng: random.Random | None = None,
    calls_last_minute: Callable[[str], int] = lambda _n: 0,
    p50_ms: Callable[[str], float | None] = lambda _n: None,
    near_limit: Callable[[str], bool] = lambda _n: False,
) -> list[str]:
    members = list(names)
    if strategy is Strategy.ROUND_ROBIN and members:
        shift = turn % len(members)
        members = members[shift:] + members[:shift]
    elif strategy is Strategy.WEIGHTED:
        members = weighted_order(members, weights or {}, rng or random.Random())  # noqa: S311
    elif strategy is Strategy.LEAST_USED:
        members.sort(key=calls_last_minute)
    elif strategy is Strategy.FASTEST_RESPONSE:
        # unmeasured members first, so that every member gets measured
        members.sort(key=lambda n: (p50_ms(n) is not None, p50_ms(n) or 0.0))
    # stable: keeps the strategy's order within each group
    return sorted(members, key=near_limit)
