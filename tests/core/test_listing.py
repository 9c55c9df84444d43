"""The listing assembled from every listing provider, its prices checked against consensus."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from cryptoagg.core.consensus import Agreement, ConsensusRules, consensus
from cryptoagg.core.listing import Replaced, assemble
from cryptoagg.core.models import MarketEntry, Quote

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def entry(
    provider: str,
    price: str,
    asset: str = "bitcoin",
    *,
    cap: str | None = None,
    supply: str | None = None,
    rank: int = 1,
) -> MarketEntry:
    return MarketEntry(
        asset_id=asset,
        symbol=asset[:3].upper(),
        name=asset.title(),
        rank=rank,
        price=Decimal(price),
        as_of=NOW - timedelta(seconds=30),
        provider=provider,
        market_cap=Decimal(cap) if cap else None,
        volume_24h=Decimal(price) * 10,
        circulating_supply=Decimal(supply) if supply else None,
    )


def listings(*entries: MarketEntry) -> list[tuple[str, list[MarketEntry]]]:
    by_provider: dict[str, list[MarketEntry]] = {}
    for e in entries:
        by_provider.setdefault(e.provider, []).append(e)
    return list(by_provider.items())


def test_an_outlier_among_three_listings_is_replaced_reported_and_left_out_of_the_figures() -> None:
    listing = assemble(
        listings(
            entry("coingecko", "120000", cap="2400", supply="20"),
            entry("coinpaprika", "100000", cap="2000"),
            entry("coincap", "100100", cap="2002", supply="20"),
        ),
        {},
        NOW,
    )
    (row,) = listing.rows
    assert row.price == Decimal("100050")  # median of the two that agree
    assert row.price_basis == "listing"
    assert row.sources == row.price_sources == ("coincap", "coinpaprika")
    assert row.replaced == (Replaced("coingecko", Decimal("120000")),)
    assert row.market_cap == Decimal("2001")
    assert row.circulating_supply == Decimal("20")  # only coincap's, coingecko's left out
    assert row.volume_24h == Decimal("1000500")
    assert listing.agreement.outliers(0.1, "listing price") == {
        "coingecko": "listing price off the consensus for 1 of 1 assets"
    }


def test_a_known_spot_consensus_is_the_price_and_the_check() -> None:
    spot = consensus(
        "bitcoin",
        [
            Quote(asset_id="bitcoin", provider=p, price=Decimal(v), as_of=NOW)
            for p, v in (("binance", "99990"), ("kraken", "100010"), ("coinbase", "100000"))
        ],
        NOW,
    )
    assert spot is not None
    # two listings only: without the spot consensus neither could be told an outlier
    listing = assemble(
        listings(entry("coingecko", "120000", cap="2400"), entry("coincap", "100500", cap="2010")),
        {"bitcoin": spot},
        NOW,
    )
    (row,) = listing.rows
    assert row.price == Decimal("100000")
    assert row.price_basis == "consensus"
    assert row.price_sources == ("binance", "coinbase", "kraken")
    assert row.as_of == spot.as_of
    # 100,500 is within the band widened by 1%; 120,000 is not
    assert row.sources == ("coincap",)
    assert [r.provider for r in row.replaced] == ["coingecko"]
    assert row.market_cap == Decimal("2010")


def test_two_listings_without_a_consensus_are_served_but_not_judged() -> None:
    listing = assemble(listings(entry("coingecko", "120000"), entry("coincap", "100000")), {}, NOW)
    (row,) = listing.rows
    assert row.price == Decimal("110000")  # the median of two cannot tell which is off
    assert row.replaced == ()
    assert listing.agreement.checked == {}  # so nobody is marked


def test_every_listing_off_the_consensus_serves_the_consensus_price_without_figures() -> None:
    kraken = Quote(asset_id="bitcoin", provider="kraken", price=Decimal(100), as_of=NOW)
    spot = consensus("bitcoin", [kraken], NOW)
    assert spot is not None
    (row,) = assemble(listings(entry("coingecko", "150", cap="3000")), {"bitcoin": spot}, NOW).rows
    assert (row.price, row.market_cap, row.sources) == (Decimal(100), None, ())
    assert row.provider == "kraken"


def test_ranks_follow_the_assembled_market_caps_and_the_limit_keeps_the_top() -> None:
    listing = assemble(
        listings(
            entry("coingecko", "10", "small", cap="10", rank=1),  # a wrong rank upstream
            entry("coingecko", "10", "big", cap="1000", rank=2),
            entry("coingecko", "10", "nocap", rank=3),
            entry("coincap", "10", "middle", cap="100", rank=1),
        ),
        {},
        NOW,
        limit=3,
    )
    assert [(r.asset_id, r.rank) for r in listing.rows] == [
        ("big", 1),
        ("middle", 2),
        ("small", 3),
    ]


def test_a_provider_is_marked_only_when_a_real_share_of_its_prices_disagree() -> None:
    agreement = Agreement()
    agreement.checked.update({"coingecko": 100, "coincap": 100})
    agreement.replaced.update({"coingecko": 3, "coincap": 10})
    assert agreement.outliers(0.1, "price") == {
        "coincap": "price off the consensus for 10 of 100 assets"
    }


def test_listing_timestamps_do_not_count_as_stale_quotes() -> None:
    old = [
        e.model_copy(update={"as_of": NOW - timedelta(hours=2)})
        for e in (entry("a", "100"), entry("b", "101"), entry("c", "99"))
    ]
    rules = ConsensusRules(max_age=timedelta(minutes=5))
    (row,) = assemble(listings(*old), {}, NOW, rules).rows
    assert row.price == Decimal(100)
