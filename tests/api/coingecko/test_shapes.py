"""The pure parts of `/api/v3` answers: derived fields, ordering, filtering, precision."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from cryptoagg.api.coingecko import shapes as cg
from cryptoagg.api.coingecko import shapes_markets as markets
from cryptoagg.api.coingecko import shapes_trending as trending
from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.consensus import consensus
from cryptoagg.core.errors import InvalidInput
from cryptoagg.core.models import MarketEntry, Quote, TrendingCoin
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
    row = markets.market_row(entry("bitcoin", 1, price="125", cap="2500", change="25"))
    # 125 now, +25 % in 24h: 100 a day ago
    assert row["price_change_24h"] == Decimal(25)
    assert row["circulating_supply"] == Decimal(20)
    assert row["symbol"] == "bit" and row["market_cap_rank"] == 1
    assert row["last_updated"] == "2026-01-10T12:34:56.789Z"
    unknown = markets.market_row(entry("bitcoin", 1, cap=None, change=None))
    assert unknown["price_change_24h"] is None and unknown["circulating_supply"] is None
    assert unknown["high_24h"] is None and unknown["ath"] is None and unknown["roi"] is None


def test_market_row_passes_on_the_providers_supply_and_derives_it_only_when_missing() -> None:
    recorded = orjson.loads(fixture_bytes("coingecko/coins_markets.json"))
    [sent] = coingecko.parse_markets(recorded, NOW)
    row = markets.market_row(sent)
    # CoinGecko's own figure, not 1381651251183 / 70187 (19685035.4...)
    assert row["circulating_supply"] == Decimal(19675987)
    assert row["market_cap"] / row["current_price"] != row["circulating_supply"]
    del recorded[0]["circulating_supply"]
    [missing] = coingecko.parse_markets(recorded, NOW)
    assert missing.circulating_supply is None
    derived = markets.market_row(missing)["circulating_supply"]
    assert derived == Decimal(1381651251183) / Decimal(70187)
    # CoinPaprika's current tickers send no circulating supply: derived; its 2020 ones do
    paprika = coinpaprika.parse_markets(
        orjson.loads(fixture_bytes("coinpaprika/tickers.json")), seeded_registry(), 1
    )
    assert markets.market_row(paprika[0])["circulating_supply"] == (
        paprika[0].market_cap / paprika[0].price  # type: ignore[operator]
    )
    [bsv] = coinpaprika.parse_markets(
        [orjson.loads(fixture_bytes("coinpaprika/tickers_bsv-bitcoin-sv_2020.json"))],
        seeded_registry(),
        1,
    )
    assert markets.market_row(bsv)["circulating_supply"] == Decimal(18446975)
    # CoinCap's `supply`
    coins = coincap.parse_markets(
        orjson.loads(fixture_bytes("coincap/v2_assets.json")), seeded_registry()
    )
    assert markets.market_row(coins[0])["circulating_supply"] == Decimal("18855306")


def test_markets_order_by_rank_volume_or_id_with_unknowns_last() -> None:
    rows = [
        entry("c", 3, volume="5"),
        entry("unranked", None, volume=None),
        entry("a", 1, volume="1"),
        entry("b", 2, volume="9"),
    ]

    def ids(order: str) -> list[str]:
        return [e.asset_id for e in markets.order_markets(rows, order)]

    assert ids("market_cap_desc") == ["a", "b", "c", "unranked"]
    assert ids("market_cap_asc") == ["c", "b", "a", "unranked"]
    assert ids("volume_desc") == ["b", "c", "a", "unranked"]
    assert ids("volume_asc") == ["a", "c", "b", "unranked"]
    assert ids("id_asc") == ["a", "b", "c", "unranked"]
    assert ids("id_desc") == ["unranked", "c", "b", "a"]


def test_markets_filter_by_ids_then_names_then_symbols() -> None:
    rows = [entry("uni", 1, symbol="UNI"), entry("other-uni", 9, symbol="UNI"), entry("x", 2)]
    filtered = markets.filter_markets
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
    item = trending.trending_item(coin, None, Decimal(50_000))
    assert item["data"]["price"] == Decimal("0.001")
    assert item["data"]["price_btc"] == "0.00000002"
    assert item["data"]["market_cap"] is None and item["data"]["price_change_percentage_24h"] == {}
    listed = entry("tiny", 900, price="0.0011", cap="1234567.6", volume="3000", change="-5")
    data = trending.trending_item(coin, listed, Decimal(50_000))["data"]
    assert data["price"] == Decimal("0.0011")
    assert data["market_cap"] == "$1,234,568"
    assert data["market_cap_btc"] == "24.691352"
    assert data["total_volume"] == "$3,000" and data["total_volume_btc"] == "0.06"
    assert data["price_change_percentage_24h"] == {"usd": Decimal(-5)}
    assert trending.trending_item(coin, None, None)["data"]["price"] is None


def test_trending_item_carries_every_field_its_provider_sent() -> None:
    [coin, *_] = coingecko.parse_trending(
        orjson.loads(fixture_bytes("coingecko/search_trending.json"))
    )
    item = trending.trending_item(coin, None, Decimal(80_000))
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
    data = trending.trending_item(coin, listed, Decimal(80_000))["data"]
    assert (data["market_cap"], data["market_cap_btc"]) == ("$2,000,000", "25")
    assert data["price_change_percentage_24h"] == {
        "btc": Decimal("0.84830827187978"),
        "usd": Decimal(-7),
    }
    # what the provider left out is filled only from what it did send
    bare = coin.model_copy(update={"small": None, "large": None, "market_cap_rank": None})
    filled = trending.trending_item(bare, listed, None)
    assert filled["small"] == filled["large"] == coin.thumb
    assert filled["market_cap_rank"] == 368
    assert filled["data"]["market_cap_btc"] == "1354.025469919968"  # no bitcoin price: theirs
    nothing = trending.trending_item(bare.model_copy(update={"thumb": None}), None, None)
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
    row = markets.market_row(
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
