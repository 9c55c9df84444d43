"""The pure parts of `/api/v3`: derived fields, ordering, filtering, granularity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest

from cryptoagg.api import coingecko_chart as chart
from cryptoagg.api import coingecko_shapes as cg
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
    assert data["price_change_percentage_24h"] == {"usd": Decimal(-5)}
    assert cg.trending_item(coin, None, None)["data"]["price"] is None


@pytest.mark.parametrize(
    ("days", "interval", "tier", "step_s"),
    [
        (1.0, None, Interval.M1, 300),
        (0.5, "5m", Interval.M1, 300),
        (1.5, None, Interval.H1, 3600),
        (90.0, None, Interval.H1, 3600),
        (90.5, None, Interval.D1, 86400),
        (None, None, Interval.D1, 86400),
        (1.0, "daily", Interval.D1, 86400),
        (30.0, "hourly", Interval.H1, 3600),
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


def test_chart_plan_refuses_what_it_cannot_serve() -> None:
    for days, interval in [(2.0, "5m"), (91.0, "hourly"), (None, "hourly"), (1.0, "weekly")]:
        with pytest.raises(InvalidInput):
            chart.chart_plan(days, interval, NOW)
    # far more days than there is history: everything since CoinGecko's first day, no overflow
    assert chart.chart_plan(1e12, None, NOW).start == chart.MAX_START


def test_days_is_a_positive_number_or_max() -> None:
    assert chart.parse_days("max") is None and chart.parse_days("MAX") is None
    assert chart.parse_days("0.5") == 0.5 and chart.parse_days("365") == 365
    for bad in ("0", "-1", "nan", "inf", "soon", ""):
        with pytest.raises(InvalidInput):
            chart.parse_days(bad)


def candle(open_time: datetime, close: str) -> Candle:
    price = Decimal(close)
    return Candle(
        asset_id="bitcoin",
        interval=Interval.M1,
        open_time=open_time,
        open=price,
        high=price,
        low=price,
        close=price,
        volume=Decimal(1),
        provider="binance",
    )


def test_chart_body_reads_five_minute_points_off_minute_candles() -> None:
    start = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    candles = [candle(start + timedelta(minutes=m), str(100 + m)) for m in range(10)]
    plan = chart.ChartPlan(Interval.M1, start, start + timedelta(minutes=9), 300)
    body = chart.chart_body(candles, plan, Decimal(2))
    at = int((start + timedelta(minutes=5)).timestamp() * 1000)
    # the 12:04 candle closes at 12:05, the 12:09 one at 12:10
    assert body["prices"] == [[at, Decimal(104)], [at + 300_000, Decimal(109)]]
    assert body["market_caps"] == [[at, Decimal(208)], [at + 300_000, Decimal(218)]]
    assert body["total_volumes"] == [[at, None], [at + 300_000, None]]
    unlisted = chart.chart_body(candles, plan, None)
    assert unlisted["market_caps"] == [[at, None], [at + 300_000, None]]
