"""The price model: a reproducible random walk whose candles agree with its prices."""

from __future__ import annotations

import itertools
import statistics

from cryptoagg.sim.market import DAY_S, EPOCH_S, REFERENCE_DAY, PriceModel

NOW = EPOCH_S + REFERENCE_DAY * DAY_S + 19 * DAY_S + 45_296.5  # 2026-11-20 12:34:56.5


def test_the_walk_is_the_same_whatever_is_asked_first() -> None:
    early, late = EPOCH_S + 100 * DAY_S + 123, NOW + 400 * DAY_S
    first = PriceModel(7)
    a = first.usd("bitcoin", early)
    other = PriceModel(7)
    other.usd("bitcoin", late)  # extends the walk far ahead before the early day is read
    assert other.usd("bitcoin", early) == a
    assert PriceModel(8).usd("bitcoin", early) != a


def test_levels_are_realistic_near_the_reference_day() -> None:
    model = PriceModel(1)
    assert 60_000 < model.usd("bitcoin", NOW) < 130_000
    assert 2_000 < model.usd("ethereum", NOW) < 4_500
    assert 4e-6 < model.usd("shiba-inu", NOW) < 2e-5
    ratio = model.usd("wrapped-bitcoin", NOW) / model.usd("bitcoin", NOW)
    assert abs(ratio - 0.9996) < 1e-9


def test_stablecoins_stay_on_their_peg() -> None:
    model = PriceModel(1)
    for asset in ("tether", "usd-coin", "dai"):
        prices = [model.usd(asset, NOW - k * 3_607.3) for k in range(0, 24 * 60)]
        assert max(abs(p - 1) for p in prices) < 0.005, asset
        assert abs(statistics.fmean(prices) - 1) < 0.002


def test_the_walk_moves_like_a_market() -> None:
    model = PriceModel(1)
    daily = [model.usd("bitcoin", NOW - d * DAY_S) for d in range(120)]
    returns = [b / a - 1 for a, b in zip(daily[1:], daily, strict=False)]
    assert 0.01 < statistics.pstdev(returns) < 0.05  # a few percent a day, not flat, not wild
    minutes = [model.usd("bitcoin", NOW - m * 60) for m in range(30)]
    assert len(set(minutes)) == 30  # every minute differs
    assert max(abs(b / a - 1) for a, b in zip(minutes[1:], minutes, strict=False)) < 0.01


def test_ohlc_matches_a_brute_force_scan_of_the_minute_path() -> None:
    model = PriceModel(3)
    for start, end in [
        (NOW - 2.5 * DAY_S, NOW),
        (NOW - 3 * 3600 - 17, NOW - 3600 + 5),
        (EPOCH_S + 1000 * DAY_S, EPOCH_S + 1001 * DAY_S),
        (NOW - 30.2, NOW - 10.1),
    ]:
        points = [model.usd("ethereum", start)]
        minute = (int(start) - EPOCH_S) // 60 * 60 + EPOCH_S + 60
        while minute <= end:
            points.append(model.usd("ethereum", minute))
            minute += 60
        points.append(model.usd("ethereum", end))
        o, h, low, c = model.ohlc("ethereum", start, end)
        assert (o, c) == (points[0], points[-1])
        assert h == max(points) and low == min(points)


def test_bars_tile_the_range_and_the_last_one_closes_at_the_live_price() -> None:
    model = PriceModel(1)
    bars = model.bars("solana", 3600, NOW - 10 * 3600, NOW, now=NOW, limit=100)
    assert len(bars) == 10
    for prev, bar in itertools.pairwise(bars):
        assert bar.open_time - prev.open_time == 3600
        assert bar.open == prev.close  # one continuous path
        assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
        assert bar.volume_usd > 0
    assert bars[-1].end == NOW and bars[-1].close == model.usd("solana", NOW)
    day = model.bars("solana", DAY_S, NOW - DAY_S, NOW, now=NOW, limit=5)[-1]
    inside = [b for b in bars if b.open_time >= day.open_time]
    assert day.high >= max(b.high for b in inside) and day.low <= min(b.low for b in inside)


def test_long_daily_ranges_are_cached() -> None:
    model = PriceModel(1)
    first = model.bars("cardano", DAY_S, NOW - 200 * DAY_S, NOW, now=NOW, limit=1000)
    again = model.bars("cardano", DAY_S, NOW - 200 * DAY_S, NOW, now=NOW, limit=1000)
    assert first == again and len(first) == 200
