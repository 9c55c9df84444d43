"""Reading news by currency and writing sentiment, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from cryptoagg.core.models import NewsItem
from cryptoagg.core.news_links import Link
from cryptoagg.core.sentiment import Term
from cryptoagg.storage.news import Incoming, NewsRepository
from cryptoagg.storage.news_feed import LabelCount, NewsFeedRepository

T0 = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def item(n: int, *currencies: str) -> NewsItem:
    return NewsItem(
        title=f"headline {n}",
        url=f"https://news.example/{n}",
        source="Example",
        published_at=T0 - timedelta(hours=n),
        provider="cryptopanic",
        currencies=currencies,
    )


def linked(news_item: NewsItem, *asset_ids: str) -> Incoming:
    return Incoming(news_item, tuple(Link(a, "tag", a) for a in asset_ids))


@pytest.fixture
def feed(migrated: Engine) -> NewsFeedRepository:
    NewsRepository(migrated).add_stories(
        [
            linked(item(0, "BTC", "ETH"), "bitcoin", "ethereum"),
            linked(item(1, "ETH"), "ethereum"),
            linked(item(2)),
            linked(item(3, "BTC"), "bitcoin"),
            linked(item(4, "BTCB"), "bitcoin-bep2"),  # an id that starts with bitcoin
            linked(item(5, "A_B"), "a_b"),
            linked(item(6, "AXB"), "axb"),
        ]
    )
    return NewsFeedRepository(migrated)


def test_newest_first_and_by_currency(feed: NewsFeedRepository) -> None:
    assert [r.item.title for r in feed.latest(3)] == ["headline 0", "headline 1", "headline 2"]
    btc = feed.latest(10, asset_id="bitcoin")
    assert [r.item.title for r in btc] == ["headline 0", "headline 3"]
    assert btc[0].item.currencies == ("BTC", "ETH")
    assert btc[0].assets == ("bitcoin", "ethereum")
    assert [(s.source, s.matched_by) for s in btc[0].sources] == [("Example", "first")]
    assert [r.item.title for r in feed.latest(1, asset_id="ethereum")] == ["headline 0"]
    assert [r.item.title for r in feed.latest(10, asset_id="a_b")] == ["headline 5"]
    assert feed.latest(10, asset_id="solana") == []
    assert [r.item.title for r in feed.latest(10, since=T0 - timedelta(hours=1))] == [
        "headline 0",
        "headline 1",
    ]


def test_sentiment_is_written_back_and_counted(feed: NewsFeedRepository) -> None:
    rows = feed.latest(3)
    assert all(r.sentiment_label is None and r.sentiment_score is None for r in rows)
    surge = (Term("surges", 0.8), Term("rally", 0.3, "layer"))
    scored = [
        rows[0].scored("positive", 0.5, "m-1", surge),
        rows[1].scored("negative", -0.25, "m-1", ()),
        rows[2],
    ]
    assert feed.set_sentiment(scored) == 2
    again = {r.item.title: r for r in feed.latest(3)}
    first = again["headline 0"]
    assert (first.sentiment_label, first.sentiment_score, first.sentiment_model) == (
        "positive",
        0.5,
        "m-1",
    )
    assert first.sentiment_terms == surge and first.scored_by("m-1")
    assert again["headline 2"].sentiment_label is None
    assert [r.item.title for r in feed.latest(10, unscored_for="m-1")][:2] == [
        "headline 2",
        "headline 3",
    ]
    # scored by another model: unscored for this one, and not counted in its labels
    assert len(feed.latest(10, unscored_for="m-2")) == len(feed.latest(10))
    assert not first.scored_by("m-2")
    assert {c.label for c in feed.label_counts(T0 - timedelta(hours=3), model="m-2")} == {None}
    counts = sorted(feed.label_counts(T0 - timedelta(hours=3)), key=lambda c: str(c.label))
    assert counts == [
        LabelCount(None, 2, 0.0),
        LabelCount("negative", 1, -0.25),
        LabelCount("positive", 1, 0.5),
    ]
    assert feed.set_sentiment([rows[2]]) == 0
    by_asset = feed.label_counts_by_asset(T0 - timedelta(hours=3))
    assert {a: sorted(c, key=lambda c: str(c.label)) for a, c in by_asset.items()} == {
        "bitcoin": [LabelCount(None, 1, 0.0), LabelCount("positive", 1, 0.5)],
        "ethereum": [LabelCount("negative", 1, -0.25), LabelCount("positive", 1, 0.5)],
    }
    about_eth = feed.label_counts(T0 - timedelta(hours=3), asset_id="ethereum")
    assert sorted(about_eth, key=lambda c: str(c.label)) == [
        LabelCount("negative", 1, -0.25),
        LabelCount("positive", 1, 0.5),
    ]
