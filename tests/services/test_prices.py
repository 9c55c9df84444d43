"""PriceService through the real pool with scripted spot providers: stablecoin rates are
measured or marked assumed, and an assumed rate widens the band."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.assets import Asset
from cryptoagg.core.errors import Unavailable
from cryptoagg.core.limits import Limits
from cryptoagg.core.models import Capability, Quote
from cryptoagg.core.ports import Outbound
from cryptoagg.resilience.budget import MemoryQuotaStore, QuotaLedger
from cryptoagg.resilience.cache import TTLCache
from cryptoagg.resilience.guard import Guards
from cryptoagg.resilience.health import HealthBook
from cryptoagg.resilience.pool import PoolConfig, ProviderPool
from cryptoagg.resilience.retry import RetryPolicy
from cryptoagg.services.context import ServiceContext, Ttls
from cryptoagg.services.prices import PriceService, StableRate, stable_rates, to_usd

NOW = datetime(2026, 3, 3, 12, 30, tzinfo=UTC)


class FakeSpot:
    """Quotes `prices` (asset id -> price) in `currency`, one request per call, or fails."""

    requires_key = False
    capabilities = frozenset({Capability.SPOT_PRICE})
    disabled_reason: str | None = None

    def __init__(
        self, name: str, prices: dict[str, str], currency: str = "USD", fail: bool = False
    ) -> None:
        self.name = name
        self.prices = prices
        self.currency = currency
        self.fail = fail
        self.outbound: Outbound | None = None

    async def spot_prices(self, assets: Sequence[Asset]) -> list[Quote]:
        if self.outbound is not None:
            await self.outbound.before_send(self.name)
        if self.fail:
            raise Unavailable(self.name, "HTTP 503")
        return [
            Quote(
                asset_id=a.id,
                provider=self.name,
                price=Decimal(self.prices[a.id]),
                as_of=NOW,
                quote_currency=self.currency,
            )
            for a in assets
            if a.id in self.prices
        ]


def service(*providers: FakeSpot) -> PriceService:
    guards = Guards(lambda: 0.0, lambda: NOW, QuotaLedger(MemoryQuotaStore()))
    for p in providers:
        guards.add(p.name, Limits())
        p.outbound = guards
    pool = ProviderPool(
        Capability.SPOT_PRICE,
        providers,  # type: ignore[arg-type]
        health=HealthBook(clock=lambda: NOW),
        guards=guards,
        config=PoolConfig(retry=RetryPolicy(attempts=1)),
    )
    ctx = ServiceContext(
        registry=seeded_registry(),
        pools={Capability.SPOT_PRICE: pool},
        cache=TTLCache(),
        ttls=Ttls(),
        clock=lambda: NOW,
    )
    return PriceService(ctx)


BINANCE = {"bitcoin": "90000", "ethereum": "3000", "usd-coin": "0.9999"}


async def test_only_binance_answering_marks_usdt_assumed_and_widens_the_band() -> None:
    prices = service(
        FakeSpot("coingecko", {"bitcoin": "90010", "tether": "1.0004"}, fail=True),
        FakeSpot("binance", BINANCE, currency="USDT"),
        FakeSpot("kraken", {"bitcoin": "90020", "tether": "1.0002"}, fail=True),
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
    prices = service(
        FakeSpot("coingecko", {"bitcoin": "90010", "tether": "1.0004"}),
        FakeSpot("binance", BINANCE, currency="USDT"),
        FakeSpot("kraken", {"bitcoin": "90020", "tether": "1.0002"}),
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
    prices = service(
        FakeSpot("binance", BINANCE, currency="USDT"),
        FakeSpot("kraken", {"bitcoin": "90020", "usd-coin": "0.9998"}),
    )
    batch = (await prices.prices(["ETH", "BTC"])).value
    by_asset = {r.value.asset.id: r.value for r in batch.reports}
    # ETH has only Binance's USDT quote; no provider quoted USDT in USD
    assert by_asset["ethereum"].conversions == {"USDT": StableRate(Decimal(1))}
    assert by_asset["ethereum"].consensus.spread_bps == Decimal("100.00")
    # BTC: Kraken's USD quote and Binance's assumed-rate one; the band spans the allowance
    btc = by_asset["bitcoin"].consensus
    assert (btc.low, btc.high) == (Decimal("89550.000"), Decimal("90450.000"))


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
