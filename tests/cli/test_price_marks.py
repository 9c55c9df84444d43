"""The `price` table marks a source whose quote was converted at an assumed stablecoin rate
(`*`) or carries the time it was received (`~`), and says what the marks mean."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from rich.console import Console

from cryptoagg.cli.prices import _price_table
from tests.support import FakeClock, FakeSpot, price_service

NOW = datetime(2026, 3, 3, 12, 30, tzinfo=UTC)


def shown(table: object) -> str:
    console = Console(width=80, record=True, color_system=None)
    console.print(table)
    return console.export_text()


async def test_assumed_rates_and_receive_times_are_marked_and_explained() -> None:
    binance = FakeSpot("binance", {"bitcoin": "90000"}, currency="USDT", as_of=NOW)
    coinbase = FakeSpot("coinbase", {"bitcoin": "90010"}, as_of=NOW)
    prices = price_service(binance, coinbase, clock=FakeClock(NOW))
    served = await prices.price("BTC")  # nobody quoted USDT in USD: its rate is assumed
    text = shown(_price_table([served], 80))
    assert "binance*, coinbase" in text
    assert "* converted at an assumed stablecoin rate" in text
    assert "~" not in text  # no quote carries a receive time

    consensus = served.value.consensus
    by_receipt = [
        consensus.used[0],
        consensus.used[1].model_copy(update={"time_source": "received"}),
    ]
    report = replace(served.value, consensus=replace(consensus, used=by_receipt))
    text = shown(_price_table([replace(served, value=report)], 80))
    assert "binance*, coinbase~" in text
    assert "~ quote time is when it was received" in text
