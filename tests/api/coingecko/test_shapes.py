"""The pure parts of `/api/v3`: derived fields, ordering, filtering, granularity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest

from cryptoagg.api.coingecko import chart
from cryptoagg.api.coingecko import shapes as cg
from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.consensus import consensus
from cryptoagg.core.errors import InvalidInput
from cryptoagg.core.models import Candle, Interval, MarketEntry, Quote, TrendingCoin
from cryptoagg.providers import coincap, coingecko, coinpaprika
from tests.providers.support import fixture_bytes

NOW = datetime(2026, 1, 10, 12, 34, 56, 789_000, tzinfo=UTC)


def entry(
    asset_id: str,
    rank: int | None,
    *,
    price: str = "100",
    symbol: str | None = None,
    volume: str | None = "1000",
    cap: str | None = "5000",
    change: str | None = "25",
) -> MarketEntry:
    return MarketEntry(
        asset_id=asset_id,
        symbol=symbol or asset_id[:3].upper(),
        name=asset_id.title(),
        rank=rank,
        price=Decimal(price),
        as_of=NOW,
        provider="coingecko",
        change_24h_pct=Decimal(change) if change else None,
        market_cap=Decimal(cap) if cap else None,
        volume_24h=Decimal(volume) if volume else None,
    )


def test_market_row_derives_the_usd_change_and_the_supply() -> None:
    row = cg.market_row(entry("bitcoin", 1, price="125", cap="2500", change="25"))
    # 125 now, +25 % in 24h: 100 a day ago
    assert row["price_change_24h"] == Decimal(25)
    assert row["circulating_supply"] == Decimal(20)
    assert row["symbol"] == "bit" and row["market_cap_rank"] == 1
    assert row["last_updated"] == "2026-01-10T12:34:56.789Z"
    unknown = cg.market_row(entry("bitcoin", 1, cap=None, change=None))
    assert unknown["price_change_24h"] is None and unknown["circulating_supply"] is None
    assert unknown["high_24h"] is None and unknown["ath"] is None and unknown["roi"] is None


def test_market_row_passes_on_the_providers_supply_and_derives_it_only_when_missing() -> None:
    recorded = orjson.loads(fixture_bytes("coingecko/coins_markets.json"))
    [sent] = coingecko.parse_markets(recorded, NOW)
    row = cg.market_row(sent)
    # CoinGecko's own figure, not 1381651251183 / 70187 (19685035.4...)
    assert row["circulating_supply"] == Decimal(19675987)
    assert row["market_cap"] / row["current_price"] != row["circulating_supply"]
    del recorded[0]["circulating_supply"]
    [missing] = coingecko.parse_markets(recorded, NOW)
    assert missing.circulating_supply is None
    derived = cg.market_row(missing)["circulating_supply"]
    assert derived == Decimal(1381651251183) / Decimal(70187)
    # CoinPaprika's current tickers send no circulating supply: derived; its 2020 ones do
    paprika = coinpaprika.parse_markets(
        orjson.loads(fixture_bytes("coinpaprika/tickers.json")), seeded_registry(), 1
    )
    assert cg.market_row(paprika[0])["circulating_supply"] == (
        paprika[0].market_cap / paprika[0].price  # type: ignore[operator]
    )
    [bsv] = coinpaprika.parse_markets(
        [orjson.loads(fixture_bytes("coinpaprika/tickers_bsv-bitcoin-sv_2020.json"))],
        seeded_registry(),
        1,
    )
    assert cg.market_row(bsv)["circulating_supply"] == Decimal(18446975)
    # CoinCap's `supply`
    coins = coincap.parse_markets(
        orjson.loads(fixture_bytes("coincap/v2_assets.json")), seeded_registry()
    )
    assert cg.market_row(coins[0])["circulating_supply"] == Decimal("18855306")


def test_markets_order_by_rank_volume_or_id_with_unknowns_last() -> None:
    rows = [
        entry("c", 3, volume="5"),
        entry("unranked", None, volume=None),
        entry("a", 1, volume="1"),
        entry("b", 2, volume="9"),
    ]

    def ids(order: str) -> list[str]:
        return [e.asset_id for e in cg.order_markets(rows, order)]

    assert ids("market_cap_desc") == ["a", "b", "c", "unranked"]
    assert ids("market_cap_asc") == ["c", "b", "a", "unranked"]
    assert ids("volume_desc") == ["b", "c", "a", "unranked"]
    assert ids("volume_asc") == ["a", "c", "b", "unranked"]
    assert ids("id_asc") == ["a", "b", "c", "unranked"]
    assert ids("id_desc") == ["unranked", "c", "b", "a"]


def test_markets_filter_by_ids_then_names_then_symbols() -> None:
    rows = [entry("uni", 1, symbol="UNI"), entry("other-uni", 9, symbol="UNI"), entry("x", 2)]
    filtered = cg.filter_markets
    assert [e.asset_id for e in filtered(rows, ["x"], ["Uni"], ["uni"], False)] == ["x"]
    assert [e.asset_id for e in filtered(rows, [], ["UNI"], ["x"], False)] == ["uni"]
    # a symbol names its top-ranked coin only, unless include_tokens=all
    assert [e.asset_id for e in filtered(rows, [], [], ["uni"], False)] == ["uni"]
    assert [e.asset_id for e in filtered(rows, [], [], ["uni"], True)] == ["uni", "other-uni"]
    assert len(filtered(rows, [], [], [], False)) == 3


def quote(provider: str, price: str, **figures: str) -> Quote:
    return Quote(
        asset_id="bitcoin",
        provider=provider,
        price=Decimal(price),
        as_of=NOW,
        **{k: Decimal(v) for k, v in figures.items()},
    )


def test_simple_price_takes_figures_from_the_listing_else_from_the_quotes() -> None:
    quotes = [
        quote("coingecko", "100", market_cap="900", volume_24h="50", change_24h_pct="1"),
        quote("coinpaprika", "101", market_cap="1000", change_24h_pct="2"),
        quote("binance", "102", volume_24h="10", change_24h_pct="3"),
    ]
    result = consensus("bitcoin", quotes, NOW)
    assert result is not None
    every = cg.SimpleFlags(market_cap=True, volume=True, change=True, last_updated=True)
    listed = entry("bitcoin", 1, cap="777", volume="88", change="-4")
    assert cg.simple_price_entry(result, listed, True, every) == {
        "usd": Decimal(101),
        "usd_market_cap": Decimal(777),
        "usd_24h_vol": Decimal(88),
        "usd_24h_change": Decimal(-4),
        "last_updated_at": int(NOW.timestamp()),
    }
    unlisted = cg.simple_price_entry(result, None, True, every)
    assert unlisted["usd_market_cap"] == Decimal(950)  # median of what the quotes carried
    assert unlisted["usd_24h_vol"] == Decimal(30)
    assert unlisted["usd_24h_change"] == Decimal(2)
    assert cg.simple_price_entry(result, listed, True, cg.SimpleFlags()) == {"usd": Decimal(101)}
    assert cg.simple_price_entry(result, listed, False, every) == {}


def test_trending_item_prices_an_unlisted_coin_through_bitcoin() -> None:
    coin = TrendingCoin(
        asset_id="tiny",
        symbol="TINY",
        name="Tiny",
        market_cap_rank=900,
        score=0,
        price_btc=Decimal("0.00000002"),
    )
    item = cg.trending_item(coin, None, Decimal(50_000))
    assert item["data"]["price"] == Decimal("0.001")
    assert item["data"]["price_btc"] == "0.00000002"
    assert item["data"]["market_cap"] is None and item["data"]["price_change_percentage_24h"] == {}
    listed = entry("tiny", 900, price="0.0011", cap="1234567.6", volume="3000", change="-5")
    data = cg.trending_item(coin, listed, Decimal(50_000))["data"]
    assert data["price"] == Decimal("0.0011")
    assert data["market_cap"] == "$1,234,568"
    assert data["market_cap_btc"] == "24.691352"
    assert data["total_volume"] == "$3,000" and data["total_volume_btc"] == "0.06"
    assert data["price_change_percentage_24h"] == {"usd": Decimal(-5)}
    assert cg.trending_item(coin, None, None)["data"]["price"] is None


def test_trending_item_carries_every_field_its_provider_sent() -> None:
    [coin, *_] = coingecko.parse_trending(
        orjson.loads(fixture_bytes("coingecko/search_trending.json"))
    )
    item = cg.trending_item(coin, None, Decimal(80_000))
    assert (item["id"], item["coin_id"], item["slug"]) == ("qubic-network", 32949, "qubic")
    assert [item[k].split("/")[6] for k in ("thumb", "small", "large")] == [
        "standard",
        "small",
        "large",
    ]
    data = item["data"]
    # not listed: the provider's own figures, written as CoinGecko writes them
    assert data["price_change_percentage_24h"] == {
        "btc": Decimal("0.84830827187978"),
        "usd": Decimal("-6.386464466210091"),
    }
    assert (data["market_cap"], data["market_cap_btc"]) == ("$104,127,324", "1354.025469919968")
    assert (data["total_volume"], data["total_volume_btc"]) == ("$3,463,333", "45.13837130375957")
    assert data["sparkline"] == "https://www.coingecko.com/coins/32949/sparkline.svg"
    assert data["price"] == coin.price_btc * Decimal(80_000)  # type: ignore[operator]
    # listed: the listing's USD figures (and their BTC value at our bitcoin price); the
    # BTC change stays the provider's
    listed = entry("qubic-network", 368, price="0.000001", cap="2000000", change="-7")
    data = cg.trending_item(coin, listed, Decimal(80_000))["data"]
    assert (data["market_cap"], data["market_cap_btc"]) == ("$2,000,000", "25")
    assert data["price_change_percentage_24h"] == {
        "btc": Decimal("0.84830827187978"),
        "usd": Decimal(-7),
    }
    # what the provider left out is filled only from what it did send
    bare = coin.model_copy(update={"small": None, "large": None, "market_cap_rank": None})
    filled = cg.trending_item(bare, listed, None)
    assert filled["small"] == filled["large"] == coin.thumb
    assert filled["market_cap_rank"] == 368
    assert filled["data"]["market_cap_btc"] == "1354.025469919968"  # no bitcoin price: theirs
    nothing = cg.trending_item(bare.model_copy(update={"thumb": None}), None, None)
    assert nothing["thumb"] is None and nothing["market_cap_rank"] is None


def test_precision_rounds_amounts_half_up() -> None:
    assert cg.parse_precision(None) is None and cg.parse_precision("full") is None
    assert cg.parse_precision("") is None
    assert [cg.parse_precision(p) for p in ("0", "2", "18")] == [0, 2, 18]
    for bad in ("19", "-1", "2.0", "all"):
        with pytest.raises(InvalidInput):
            cg.parse_precision(bad)
    assert cg.rounded(Decimal("67187.335"), 2) == Decimal("67187.34")
    assert cg.rounded(Decimal("67187.5"), 0) == 67188 and isinstance(cg.rounded(Decimal(1), 0), int)
    assert cg.rounded(Decimal("0.000000001179"), 10) == Decimal("0.0000000012")
    # a market cap to 18 places keeps every digit (no context overflow)
    big = cg.rounded(Decimal("1317802988326.2512345"), 18)
    assert big == Decimal("1317802988326.251234500000000000")
    assert cg.rounded(None, 2) is None and cg.rounded(Decimal("1.23456"), None) == Decimal(
        "1.23456"
    )


def test_precision_rounds_the_amounts_of_a_row_and_a_price_not_the_percentages() -> None:
    row = cg.market_row(
        entry("bitcoin", 1, price="125.126", cap="2500.5", change="25.555"), (), False, 1
    )
    assert (row["current_price"], row["market_cap"]) == (Decimal("125.1"), Decimal("2500.5"))
    assert row["price_change_percentage_24h"] == Decimal("25.555")  # a percentage: as is
    assert row["price_change_24h"] == Decimal("25.5")  # 125.126 - 125.126 / 1.25555
    quotes = [quote("coingecko", "100.123456", market_cap="900", change_24h_pct="1.987654")]
    result = consensus("bitcoin", quotes, NOW)
    assert result is not None
    every = cg.SimpleFlags(market_cap=True, volume=True, change=True)
    listed = entry("bitcoin", 1, cap="777.77", volume="88.888", change="-4.4444")
    assert cg.simple_price_entry(result, listed, True, every, 0) == {
        "usd": 100,
        "usd_market_cap": 778,
        "usd_24h_vol": 89,
        "usd_24h_change": Decimal("-4.4444"),
    }


@pytest.mark.parametrize(
    ("days", "interval", "tier", "step_s"),
    [
        (1.0, None, Interval.M1, 300),
        (0.5, "5m", Interval.M1, 300),
        (7.0, "5m", Interval.M1, 300),
        (1.0, "1m", Interval.M1, 60),
        (1.5, None, Interval.H1, 3600),
        (90.0, None, Interval.H1, 3600),
        (90.5, None, Interval.D1, 86400),
        (None, None, Interval.D1, 86400),
        (1.0, "daily", Interval.D1, 86400),
        (30.0, "hourly", Interval.H1, 3600),
        (100.0, "hourly", Interval.H1, 3600),
    ],
)
def test_chart_granularity_maps_coingecko_onto_our_tiers(
    days: float | None, interval: str | None, tier: Interval, step_s: int
) -> None:
    plan = chart.chart_plan(days, interval, NOW)
    assert (plan.interval, plan.step_s) == (tier, step_s)
    # the last point is the last closed candle; the first closes after `now - days`
    assert plan.end + tier.delta <= NOW < plan.end + 2 * tier.delta
    first_close = plan.start + tier.delta
    window_start = chart.MAX_START if days is None else NOW - timedelta(days=days)
    assert window_start < first_close <= window_start + tier.delta


@pytest.mark.parametrize(
    ("days", "interval", "most_days"),
    [
        (2.0, "1m", 1),
        (30.0, "5m", 10),
        (None, "5m", 10),
        (365.0, "hourly", 100),
        (None, "hourly", 100),
    ],
)
def test_a_forced_interval_covers_at_most_its_window_like_coingecko(
    days: float | None, interval: str, most_days: int
) -> None:
    plan = chart.chart_plan(days, interval, NOW)
    assert plan.start == chart.chart_plan(most_days, interval, NOW).start
    assert NOW - timedelta(days=most_days) < plan.start + plan.interval.delta


def test_chart_plan_refuses_an_interval_coingecko_does_not_offer() -> None:
    for interval in ("weekly", "1h", "HOURLY", "15m"):
        with pytest.raises(InvalidInput, match="1m, 5m, hourly or daily"):
            chart.chart_plan(1.0, interval, NOW)
    # far more days than there is history: everything since CoinGecko's first day, no overflow
    assert chart.chart_plan(1e12, None, NOW).start == chart.MAX_START


def test_days_is_a_positive_number_or_max() -> None:
    assert chart.parse_days("max") is None and chart.parse_days("MAX") is None
    assert chart.parse_days("0.5") == 0.5 and chart.parse_days("365") == 365
    for bad in ("0", "-1", "nan", "inf", "soon", ""):
        with pytest.raises(InvalidInput):
            chart.parse_days(bad)


def candle(
    open_time: datetime,
    close: str,
    interval: Interval = Interval.M1,
    volume: str | None = "1",
    *,
    partial: bool = False,
) -> Candle:
    price = Decimal(close)
    return Candle(
        asset_id="bitcoin",
        interval=interval,
        open_time=open_time,
        open=price,
        high=price,
        low=price,
        close=price,
        volume=None if volume is None else Decimal(volume),
        provider="binance",
        partial=partial,
    )


def ms(at: datetime) -> int:
    return int(at.timestamp()) * 1000


def test_chart_reads_five_minute_points_off_minute_candles() -> None:
    start = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    candles = [candle(start + timedelta(minutes=m), str(100 + m)) for m in range(10)]
    plan = chart.ChartPlan(Interval.M1, start, start + timedelta(minutes=9), 300)
    series = chart.chart_series(plan, candles, [], Decimal(2), None)
    body = chart.chart_body(series)
    at = ms(start + timedelta(minutes=5))
    # the 12:04 candle closes at 12:05, the 12:09 one at 12:10
    assert body["prices"] == [[at, Decimal(104)], [at + 300_000, Decimal(109)]]
    assert body["market_caps"] == [[at, Decimal(208)], [at + 300_000, Decimal(218)]]
    # no hourly candles of the 24 hours before: no volume, left out rather than invented
    assert body["total_volumes"] == []
    assert series.lacking() == {"prices": 0, "market_caps": 0, "total_volumes": 2}
    unlisted = chart.chart_series(plan, candles, [], None, None)
    assert chart.chart_body(unlisted)["market_caps"] == []
    assert chart.completeness_headers(unlisted) == {
        "X-Data-Partial": "true",
        "X-Data-Missing-Points": "prices=0, market_caps=2, total_volumes=2",
    }


def test_a_volume_is_the_usd_volume_of_the_24_hours_up_to_the_point() -> None:
    day = datetime(2026, 1, 9, tzinfo=UTC)
    # hourly candles from 2026-01-08 00:00 to 01-09 23:00: volume 2 (base) each, close = hour
    hours = [
        candle(day - timedelta(hours=24) + timedelta(hours=h), str(h), Interval.H1, "2")
        for h in range(48)
    ]
    plan = chart.ChartPlan(Interval.H1, day, day + timedelta(hours=23), 3600)
    assert plan.reads() == [(Interval.H1, day - timedelta(hours=23), plan.end)]
    series = chart.chart_series(plan, hours, hours, None, None)
    volumes = dict(series.total_volumes)
    # the point at 01-09 01:00 (the 00:00 candle's close) covers the hours opened
    # 01-08 01:00 .. 01-09 00:00, closes 1..24: 2 x (1 + ... + 24)
    first = int((day + timedelta(hours=1)).timestamp())
    assert volumes[first] == 2 * sum(range(1, 25))
    assert volumes[first + 3600] == 2 * sum(range(2, 26))
    assert len(series.prices) == len(series.total_volumes) == 24
    # a window with a missing, partial or volume-less hour has no volume
    holed = [c for c in hours if c.open_time != day - timedelta(hours=5)]
    assert first not in dict(chart.chart_series(plan, holed, holed, None, None).total_volumes)
    partial = [
        candle(c.open_time, str(c.close), Interval.H1, "2", partial=True)
        if c.open_time == day - timedelta(hours=5)
        else c
        for c in hours
    ]
    assert first not in dict(chart.chart_series(plan, hours, partial, None, None).total_volumes)
    no_volume = [
        candle(c.open_time, str(c.close), Interval.H1, None)
        if c.open_time == day - timedelta(hours=5)
        else c
        for c in hours
    ]
    assert first not in dict(chart.chart_series(plan, hours, no_volume, None, None).total_volumes)


def test_minute_points_take_the_volume_up_to_the_last_full_hour_and_daily_their_own() -> None:
    hour = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    minutes = [candle(hour + timedelta(minutes=m), "100") for m in range(15)]
    hours = [candle(hour - timedelta(hours=k), "10", Interval.H1, "3") for k in range(1, 25)]
    plan = chart.ChartPlan(Interval.M1, hour, hour + timedelta(minutes=14), 300)
    assert plan.reads() == [
        (Interval.M1, hour, plan.end),
        (Interval.H1, hour - timedelta(hours=24), hour - timedelta(hours=1)),
    ]
    series = chart.chart_series(plan, minutes, hours, None, None)
    assert [v for _, v in series.total_volumes] == [Decimal(720)] * 3  # 24 x 3 x 10
    days = [candle(hour.replace(hour=0) - timedelta(days=d), "5", Interval.D1, "7") for d in (1, 2)]
    daily = chart.ChartPlan(Interval.D1, days[1].open_time, days[0].open_time, 86400)
    assert daily.reads() == [(Interval.D1, daily.start, daily.end)]
    by_day = chart.chart_series(daily, days, days, None, None)
    assert [v for _, v in by_day.total_volumes] == [Decimal(35), Decimal(35)]


def test_missing_points_are_counted_and_listed_from_the_history_floor_on() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    plan = chart.ChartPlan(Interval.D1, start, start + timedelta(days=9), 86400)
    stored = [
        candle(start + timedelta(days=d), "1", Interval.D1, partial=d == 6)
        for d in (2, 3, 4, 6, 8, 9)
    ]
    series = chart.chart_series(plan, stored, stored, Decimal(1), None)
    # a partial rollup is a missing point, not a value
    assert [t for t, _ in series.prices] == [
        int((start + timedelta(days=d + 1)).timestamp()) for d in (2, 3, 4, 8, 9)
    ]
    headers = chart.completeness_headers(series)
    assert headers == {
        "X-Data-Partial": "true",
        "X-Data-Missing-Points": "prices=5, market_caps=5, total_volumes=5",
        "X-Data-Missing": "2026-01-02T00:00:00Z/2026-01-03T00:00:00Z, "
        "2026-01-07T00:00:00Z/2026-01-09T00:00:00Z",
    }
    # no provider has data before the floor: nothing there is missing
    floored = chart.chart_series(plan, stored, stored, Decimal(1), start + timedelta(days=2))
    assert chart.completeness_headers(floored)["X-Data-Missing"] == (
        "2026-01-07T00:00:00Z/2026-01-09T00:00:00Z"
    )
    whole = [candle(start + timedelta(days=d), "1", Interval.D1) for d in range(10)]
    complete = chart.chart_series(plan, whole, whole, Decimal(1), None)
    assert chart.completeness_headers(complete) == {"X-Data-Partial": "false"}
    # many runs: the first ten, then how many more
    sparse = [candle(start + timedelta(days=d), "1", Interval.D1) for d in range(0, 30, 2)]
    long_plan = chart.ChartPlan(Interval.D1, start, start + timedelta(days=29), 86400)
    runs = chart.completeness_headers(chart.chart_series(long_plan, sparse, [], None, None))
    assert runs["X-Data-Missing"].endswith(", +5 more") and runs["X-Data-Missing"].count("/") == 10


def test_chart_body_rounds_to_the_precision() -> None:
    start = datetime(2026, 1, 10, tzinfo=UTC)
    plan = chart.ChartPlan(Interval.D1, start, start, 86400)
    day = [candle(start, "1.23456", Interval.D1, "2")]
    series = chart.chart_series(plan, day, day, Decimal(3), None)
    assert chart.chart_body(series, 2) == {
        "prices": [[ms(start) + 86_400_000, Decimal("1.23")]],
        "market_caps": [[ms(start) + 86_400_000, Decimal("3.70")]],
        "total_volumes": [[ms(start) + 86_400_000, Decimal("2.47")]],
    }


def test_an_hour_without_a_volume_is_made_of_its_minutes_when_all_are_stored() -> None:
    point = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    plan = chart.ChartPlan(
        Interval.H1, point - timedelta(hours=1), point - timedelta(hours=1), 3600
    )
    # 24 hours up to the point: CoinGecko-like hourly candles (no volume) for the last one
    hours = [
        candle(point - timedelta(hours=k), "10", Interval.H1, None if k == 1 else "3")
        for k in range(1, 25)
    ]
    assert chart.hours_without_volume(plan, hours) == [point - timedelta(hours=1)]
    bare = chart.chart_series(plan, hours, hours, None, None)
    assert bare.total_volumes == []
    last_hour = point - timedelta(hours=1)
    minutes = [candle(last_hour + timedelta(minutes=m), "2", volume="5") for m in range(60)]
    made = chart.chart_series(plan, hours, hours, None, None, minutes=minutes)
    assert made.total_volumes == [(int(point.timestamp()), Decimal(23 * 30 + 60 * 10))]
    # 59 of its minutes are not the hour's volume
    short = chart.chart_series(plan, hours, hours, None, None, minutes=minutes[1:])
    assert short.total_volumes == []
    assert chart.hours_without_volume(chart.ChartPlan(Interval.D1, point, point, 86400), []) == []
