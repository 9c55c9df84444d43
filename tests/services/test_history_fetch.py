"""How a fill reads the OHLCV pool's refusals (`services/history_fetch.py`): "no such data"
raises the history floor, "not this second" is waited out by a paced fill, anything else
pauses the fill."""

from __future__ import annotations

import pytest

from cryptoagg.core.errors import NoProviderAvailable
from cryptoagg.services.history_fetch import no_data, over_budget


def refused(**reasons: str) -> NoProviderAvailable:
    return NoProviderAvailable("ohlcv", reasons)


@pytest.mark.parametrize(
    ("reasons", "nothing_there", "wait"),
    [
        # every provider says it has no such data: the floor moves
        ({"kraken": "not_found: no candles", "binance": "not_supported"}, True, False),
        ({"kraken": "disabled"}, True, False),
        # some only over their rate budget, the rest without data: a paced fill waits
        ({"kraken": "rate_limited", "binance": "not_found"}, False, True),
        ({"kraken": "budget_exhausted: rate limit, next call in 2.0s"}, False, True),
        # a real failure among them: neither
        ({"kraken": "rate_limited", "binance": "timeout"}, False, False),
        ({"kraken": "not_found", "binance": "server_error"}, False, False),
        # nobody asked (no provider enabled) is not "no data"
        ({}, False, False),
    ],
)
def test_a_refusal_is_no_data_over_budget_or_neither(
    reasons: dict[str, str], nothing_there: bool, wait: bool
) -> None:
    exc = refused(**reasons)
    assert no_data(exc) is nothing_there
    assert over_budget(exc) is wait
