"""Linking headlines to assets: real headlines from the recorded feeds, and the ordinary words
that must not be hits."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.news_links import NewsLinker

NEWS = Path(__file__).resolve().parents[1] / "fixtures" / "providers" / "news"
REGISTRY = seeded_registry()
LINKER = NewsLinker(REGISTRY.tracked(), REGISTRY.asset_id_of)


def linked(title: str, summary: str | None = None, tags: tuple[str, ...] = ()) -> list[str]:
    return [link.asset_id for link in LINKER.links(title, summary, tags)]


def rss_titles(name: str) -> list[str]:
    text = (NEWS / name).read_text()
    items = re.findall(r"<item>.*?</item>", text, re.S)
    return [
        re.search(r"<title>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</title>", i, re.S).group(1)
        for i in items
    ]  # type: ignore[union-attr]


def test_the_recorded_feeds_headlines_link_to_the_assets_they_name() -> None:
    titles = {
        **dict.fromkeys(rss_titles("coindesk_rss.xml"), "coindesk"),
        **dict.fromkeys(rss_titles("cointelegraph_rss_THIRD_PARTY_REGENERATED.xml"), "ct"),
        **dict.fromkeys(rss_titles("decrypt_rss_THIRD_PARTY_REGENERATED.xml"), "decrypt"),
    }
    found = {title: linked(title) for title in titles}
    assert found == {
        "Circle and Tether step in to freeze hacker wallet after massive Bitget crypto heist": [
            "tether"
        ],
        "Tokenization is moving faster than Washington": [],
        "Tether confirms minimal EQIBank exposure following $89M US asset seizure": ["tether"],
        "Memecoin market showing 'classic capitulation signal': Santiment": [],
        "Trump Media files for two new crypto ETFs tied to Bitcoin, Ether, Cronos": [
            "bitcoin",
            "ethereum",
            "crypto-com-chain",
        ],
        "ARK turns bullish on Coinbase again with $15M purchase after selling spree": [],
        "Bitcoin Mining Profits Hit 14-Month Low After Winter Storm Rocks Miners: CryptoQuant": [
            "bitcoin"
        ],
        "India Faces Pressure to Rethink Crypto Taxes Ahead of Union Budget as Trading Shifts "
        "Offshore": [],
        "Crypto Crash: Liquidations Top $2.5 Billion as Bitcoin, Ethereum and XRP Prices Plummet": [
            "bitcoin",
            "ethereum",
            "ripple",
        ],
    }


def test_cryptopanic_tags_link_even_untracked_assets_the_registry_knows() -> None:
    posts = json.loads((NEWS / "cryptopanic_posts.json").read_text())["results"]
    by_title = {
        re.sub(r"<[^>]+>", "", p["title"]): tuple(c["code"] for c in p.get("currencies") or [])
        for p in posts
    }
    vechain = next(t for t in by_title if t.startswith("VeChain"))
    assert linked(vechain, tags=by_title[vechain]) == ["vechain"]  # by name; VEN is no ticker
    links = LINKER.links("Some headline", tags=("BTC", "XBT", "NOPE"))
    assert [(x.asset_id, x.matched_by) for x in links] == [("bitcoin", "tag")]


@pytest.mark.parametrize(
    "title",
    [
        "Traders link rate cuts to a broader crypto rally",
        "Bitcoin Price Near $100K As ETFs Pull In Billions",  # "Near" in Title Case
        "Gas fees on Ethereum hit one-year low",
        "Stellar growth in DeFi lending as yields return",
        "An avalanche of liquidations hits crypto markets",
        "Market optimism returns after the Fed meeting",
        "The Maker of the Ledger wallet raises $75 million",
        "Solar stocks bask in the SUN as rates fall",
        "North Korean APT group tied to exchange breach",
        "DOT rules on crypto transport? No, says the agency",
    ],
)
def test_ordinary_words_are_not_hits(title: str) -> None:
    assert [a for a in linked(title) if a not in ("bitcoin", "ethereum")] == []


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("$LINK breaks out of its range", ["chainlink"]),
        ("Chainlink (LINK) climbs 8%", ["chainlink"]),
        ("LINK price jumps on oracle deal", ["chainlink"]),
        ("NEAR Protocol unveils sharding upgrade", ["near"]),
        ("Stellar network adds support for euro stablecoin", ["stellar"]),
        ("Optimism token unlock looms", ["optimism"]),
        ("Polkadot's DOT slides as parachain auctions end", ["polkadot"]),
    ],
)
def test_ordinary_words_count_in_crypto_context(title: str, expected: list[str]) -> None:
    assert linked(title) == expected


def test_the_longest_name_wins_and_each_asset_is_linked_once() -> None:
    assert linked("Bitcoin Cash jumps 10% while Bitcoin stalls") == ["bitcoin-cash", "bitcoin"]
    assert linked("Wrapped Bitcoin supply grows") == ["wrapped-bitcoin"]
    assert linked("Ethereum Classic rallies") == ["ethereum-classic"]
    assert linked("ETH/BTC ratio falls; ETH holders wait") == ["ethereum", "bitcoin"]
    assert linked("Bitcoin's dominance climbs", "BTC holds above $90,000") == ["bitcoin"]


def test_how_each_link_was_decided_is_kept() -> None:
    links = LINKER.links("Ether and SOL lead as XBT stalls")
    assert [(x.asset_id, x.matched_by, x.text) for x in links] == [
        ("ethereum", "alias", "Ether"),
        ("solana", "ticker", "SOL"),
        ("bitcoin", "alias", "XBT"),
    ]
