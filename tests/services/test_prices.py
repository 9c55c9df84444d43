"""PriceService through the real pool with scripted spot providers: stablecoin rates are
measured or marked assumed (an assumed rate widens the band), quotes are converted to USD,
a batch names the assets nobody had a fresh quote for, collector runs leave per-asset
providers out, and a provider whose price is off the consensus is marked in its health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from cryptoagg.core.errors import NoProviderAvailable, Unavailable
from cryptoagg.core.models import Capability, Quote
from cryptoagg.services.prices import StableRate, stable_rates, to_usd
from tests.support import FakeClock, FakeSpot, price_service

NOW = datetime(2026, 3, 3, 12, 30, tzinfo=UTC)
BINANCE = {"bitcoin": "90000", "ethereum": "3000", "usd-coin": "0.9999"}


def spot(name: str, prices: dict[str, str], currency: str = "USD", fail: bool = False) -> FakeSpot:
    """A provider quoting at NOW, or failing with a 503 on every call."""
    error = Unavailable(name, "HTTP 503") if fail else None
    return FakeSpot(name, prices, currency=currency, as_of=NOW, error=error)


async def test_only_binance_answering_marks_usdt_assumed_and_widens_the_band() -> None:
    prices = price_service(
        spot("coingecko", {"bitcoin": "90010", "tether": "1.0004"}, fail=True),
        spot("binance", BINANCE, currency="USDT"),
        spot("kraken", {"bitcoin": "90020", "tether": "1.0002"}, fail=True),
        clock=FakeClock(NOW),
    )
    report = (await prices.price("BTC")).value
    assert report.conversions == {"USDT": StableRate(Decimal(1))}
    assert report.conversions["USDT"].assumed
    c = report.consensus
    assert c.sources == ["binance"]
    (quote,) = c.used
    assert (quote.converted_from, quote.rate_assumed) == ("USDT", True)
    assert c.price == Decimal(90000)
    # the single quote spans the ±0.5% de-peg allowance: never a zero-width band
    assert (c.low, c.high) == (Decimal("89550.000"), Decimal("90450.000"))
    assert c.spread_bps == Decimal("100.00")
    assert report.failures == {
        "coingecko": "unavailable: HTTP 503",
        "kraken": "unavailable: HTTP 503",
    }


async def test_a_usd_quote_of_tether_measures_the_rate_and_keeps_the_band_tight() -> None:
    prices = price_service(
        spot("coingecko", {"bitcoin": "90010", "tether": "1.0004"}),
        spot("binance", BINANCE, currency="USDT"),
        spot("kraken", {"bitcoin": "90020", "tether": "1.0002"}),
        clock=FakeClock(NOW),
    )
    report = (await prices.price("BTC")).value
    usdt = report.conversions["USDT"]
    assert (usdt.rate, usdt.sources, usdt.assumed) == (
        Decimal("1.0003"),
        ("coingecko", "kraken"),
        False,
    )
    c = report.consensus
    binance = next(q for q in c.used if q.provider == "binance")
    assert binance.price == Decimal("90027.0000") and not binance.rate_assumed
    # the band is the quotes' own range: 90010 .. 90027
    assert (c.low, c.high) == (Decimal(90010), Decimal("90027.0000"))
    assert c.spread_bps == Decimal("1.89")


async def test_batch_reports_each_conversion_its_quotes_used() -> None:
    prices = price_service(
        spot("binance", BINANCE, currency="USDT"),
        spot("kraken", {"bitcoin": "90020", "usd-coin": "0.9998"}),
        clock=FakeClock(NOW),
    )
    batch = (await prices.prices(["ETH", "BTC"])).value
    by_asset = {r.value.asset.id: r.value for r in batch.reports}
    # ETH has only Binance's USDT quote; no provider quoted USDT in USD
    assert by_asset["ethereum"].conversions == {"USDT": StableRate(Decimal(1))}
    assert by_asset["ethereum"].consensus.spread_bps == Decimal("100.00")
    # BTC: Kraken's USD quote and Binance's assumed-rate one; the band spans the allowance
    btc = by_asset["bitcoin"].consensus
    assert (btc.low, btc.high) == (Decimal("89550.000"), Decimal("90450.000"))


async def test_one_asset_asked_alone_or_as_a_batch_of_one_is_one_load() -> None:
    binance = spot("binance", BINANCE)
    prices = price_service(binance, clock=FakeClock(NOW))
    one = await prices.price("BTC")  # /api/price/bitcoin
    batch = await prices.prices(["bitcoin"])  # /api/v3/simple/price?ids=bitcoin
    assert binance.calls == 1
    [same] = batch.value.reports
    assert same.value == one.value and same.value.consensus.price == Decimal(90000)
    await prices.prices(["bitcoin", "ethereum"])  # another set of assets: its own entry
    assert binance.calls == 2


async def test_a_batch_names_the_assets_without_a_fresh_quote() -> None:
    stale = FakeSpot("coincap", {"solana": "150"}, as_of=NOW - timedelta(minutes=10))
    prices = price_service(
        spot("binance", BINANCE, currency="USDT"),
        spot("kraken", {"bitcoin": "90020", "ethereum": "3001"}),
        stale,
        clock=FakeClock(NOW),
    )
    served = await prices.prices(["SOL", "btc", "DOGE", "ethereum"])
    answer = served.value
    # in the order asked; Solana's only quote is older than the 300 s limit, nobody quotes
    # Dogecoin
    assert [(r.value.asset.id, r.value.consensus.price) for r in answer.reports] == [
        ("bitcoin", Decimal(90010)),
        ("ethereum", Decimal("3000.5")),
    ]
    assert answer.missing == ["solana", "dogecoin"]
    # no provider failed, but every one that answered lacked some asset
    assert served.unavailable == dict.fromkeys(
        ["binance", "kraken", "coincap"], "no fresh quote for this asset"
    )
    assert all(r.value.failures == {} and not r.stale for r in answer.reports)
    assert stale.asked == [["solana", "bitcoin", "dogecoin", "ethereum", "tether", "usd-coin"]]


async def test_no_fresh_quote_for_any_asset_asked_is_no_provider_available() -> None:
    prices = price_service(
        spot("kraken", {"bitcoin": "90020"}),
        spot("coingecko", {}, fail=True),
        clock=FakeClock(NOW),
    )
    with pytest.raises(NoProviderAvailable) as info:
        await prices.price("DOGE")
    assert info.value.reasons == {
        "coingecko": "unavailable: HTTP 503",
        "kraken": "no fresh quote for this asset",
    }


async def test_a_collector_run_leaves_per_asset_providers_to_clients() -> None:
    coinbase = spot("coinbase", {"bitcoin": "90100"})
    coinbase.per_asset_quotes = True  # type: ignore[attr-defined]
    clock = FakeClock(NOW)
    prices = price_service(coinbase, spot("kraken", {"bitcoin": "90020"}), clock=clock)
    batch = await prices.collect(["BTC"])
    assert coinbase.calls == 0
    assert batch.failures == {
        "coinbase": "skipped: one request per asset (collected from multi-asset providers)"
    }
    (report,) = batch.reports
    assert (report.consensus.sources, report.consensus.price) == (["kraken"], Decimal(90020))
    # what was collected is what the market listing reads back, while it is recent
    assert {a: c.price for a, c in prices.recent(60).items()} == {"bitcoin": Decimal(90020)}
    clock.advance(61)
    assert prices.recent(60) == {}
    # a client's request asks Coinbase too
    both = (await prices.price("BTC")).value.consensus
    assert (sorted(both.sources), both.price) == (["coinbase", "kraken"], Decimal(90060))


async def test_consensus_of_settles_known_assets_and_gives_up_quietly() -> None:
    prices = price_service(spot("kraken", {"bitcoin": "90020"}), clock=FakeClock(NOW))
    settled = await prices.consensus_of(["bitcoin", "no-such-coin"])
    assert {a: c.price for a, c in settled.items()} == {"bitcoin": Decimal(90020)}
    assert await prices.consensus_of(["no-such-coin"]) == {}
    down = price_service(spot("kraken", {"bitcoin": "1"}, fail=True), clock=FakeClock(NOW))
    assert await down.consensus_of(["bitcoin"]) == {}


async def test_a_provider_off_the_consensus_is_dropped_and_marked_until_it_agrees() -> None:
    binance = spot("binance", {"bitcoin": "99000"})
    clock = FakeClock(NOW)
    prices = price_service(
        spot("kraken", {"bitcoin": "90000"}),
        spot("coinbase", {"bitcoin": "90010"}),
        spot("coingecko", {"bitcoin": "90020"}),
        binance,
        clock=clock,
    )
    c = (await prices.collect(["BTC"])).reports[0].consensus
    assert (c.price, sorted(c.sources)) == (Decimal(90010), ["coinbase", "coingecko", "kraken"])
    assert [(d.quote.provider, d.reason) for d in c.dropped] == [("binance", "outlier")]
    health = prices.ctx.pool(Capability.SPOT_PRICE).health
    assert health.get("binance").outliers == {"price": "price off the consensus for 1 of 1 assets"}
    assert health.get("binance").last_error_reason == "outlier"
    assert health.get("kraken").outliers == {}

    binance.prices = {"bitcoin": "90030"}
    again = (await prices.collect(["BTC"])).reports[0].consensus
    assert again.dropped == () and again.price == Decimal(90015)
    assert health.get("binance").outliers == {}


def test_stable_rates_name_their_sources_or_are_assumed() -> None:
    quotes = [
        Quote(asset_id="usd-coin", provider=p, price=Decimal(v), as_of=NOW)
        for p, v in (("kraken", "0.9998"), ("coinbase", "1.0000"), ("coingecko", "0.9999"))
    ]
    rates = stable_rates(quotes)
    assert rates["USDC"] == StableRate(Decimal("0.9999"), ("coinbase", "coingecko", "kraken"))
    assert rates["USDT"].assumed and rates["USDT"].rate == 1
    usdc_quoted = Quote(
        asset_id="bitcoin", provider="x", price=Decimal(2), as_of=NOW, quote_currency="USDC"
    )
    usdt_quoted = usdc_quoted.model_copy(update={"quote_currency": "USDT"})
    converted = to_usd([usdc_quoted, usdt_quoted], rates)
    assert [(q.price, q.converted_from, q.rate_assumed) for q in converted] == [
        (Decimal("1.9998"), "USDC", False),
        (Decimal(2), "USDT", True),
    ]


def test_conversion_keeps_usd_quotes_and_converts_volume_at_the_same_rate() -> None:
    rates = {"USDT": StableRate(Decimal("1.001"), ("kraken",)), "USDC": StableRate(Decimal(1))}
    usd = Quote(asset_id="bitcoin", provider="kraken", price=Decimal(90000), as_of=NOW)
    usdt = Quote(
        asset_id="bitcoin",
        provider="binance",
        price=Decimal(90000),
        as_of=NOW,
        quote_currency="USDT",
        volume_24h=Decimal(1000),
    )
    kept, converted = to_usd([usd, usdt], rates)
    assert kept is usd
    assert (converted.price, converted.volume_24h, converted.quote_currency) == (
        Decimal("90090.000"),
        Decimal("1001.000"),
        "USD",
    )
    assert (converted.converted_from, converted.rate_assumed) == ("USDT", False)
