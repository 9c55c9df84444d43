"""NewsFeed: items are scored once, on first read; the summary counts labels."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from cryptoagg.core.models import NewsItem
from cryptoagg.core.news_links import Link
from cryptoagg.services.news_feed import NewsFeed
from cryptoagg.services.sentiment import SentimentResult, VaderBackend
from cryptoagg.storage.news import Incoming, NewsRepository
from cryptoagg.storage.news_feed import NewsFeedRepository

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


class CountingBackend:
    """Positive when the headline says "up", negative when it says "down"."""

    model = "counting-1"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def score(self, texts: Sequence[str]) -> list[SentimentResult]:
        self.seen.extend(texts)
        out = []
        for text in texts:
            if "up" in text:
                out.append(SentimentResult("positive", 0.6, self.model))
            elif "down" in text:
                out.append(SentimentResult("negative", -0.4, self.model))
            else:
                out.append(SentimentResult("neutral", 0.0, self.model))
        return out


#: the tags of these tests, as the collector's linker links them
ASSET_OF = {"BTC": "bitcoin", "ETH": "ethereum"}


def store(engine: Engine, *titles: tuple[str, float, tuple[str, ...]]) -> None:
    NewsRepository(engine).add_stories(
        [
            Incoming(
                NewsItem(
                    title=title,
                    url=f"https://news.example/{i}",
                    source="Example",
                    published_at=NOW - timedelta(hours=hours),
                    provider="cryptopanic",
                    currencies=currencies,
                ),
                tuple(Link(ASSET_OF[c], "tag", c) for c in currencies),
            )
            for i, (title, hours, currencies) in enumerate(titles)
        ]
    )


async def test_items_are_scored_once_and_filtered_by_asset(migrated: Engine) -> None:
    store(
        migrated,
        ("BTC up 5%", 1, ("BTC",)),
        ("ETH down again", 2, ("ETH",)),
        ("Markets wait", 3, ()),
    )
    backend = CountingBackend()
    feed = NewsFeed(NewsFeedRepository(migrated), backend, lambda: NOW)
    rows = await feed.latest(10)
    assert [(r.item.title, r.sentiment_label, r.sentiment_score) for r in rows] == [
        ("BTC up 5%", "positive", 0.6),
        ("ETH down again", "negative", -0.4),
        ("Markets wait", "neutral", 0.0),
    ]
    again = await feed.latest(10, "ethereum")
    assert [r.item.title for r in again] == ["ETH down again"]
    assert again[0].sentiment_label == "negative"
    assert backend.seen == ["BTC up 5%", "ETH down again", "Markets wait"]  # once each


async def test_summary_scores_the_window_and_counts_labels(migrated: Engine) -> None:
    store(
        migrated,
        ("up up", 1, ()),
        ("up again", 2, ()),
        ("down", 5, ()),
        ("old and up", 30, ()),
    )
    backend = CountingBackend()
    feed = NewsFeed(NewsFeedRepository(migrated), backend, lambda: NOW)
    summary = await feed.summary(24)
    assert summary.since == NOW - timedelta(hours=24)
    assert (summary.items, summary.scored) == (3, 3)
    assert summary.labels == {"negative": 1, "positive": 2}
    assert summary.mean_score == round((0.6 + 0.6 - 0.4) / 3, 4)
    assert summary.model == "counting-1"
    assert "old and up" not in backend.seen  # outside the window


async def test_summaries_of_several_windows_score_the_longest_once(migrated: Engine) -> None:
    store(
        migrated,
        ("BTC up", 1, ("BTC",)),
        ("ETH down", 30, ("ETH",)),
        ("BTC down", 100, ("BTC",)),
        ("too old and up", 200, ("BTC",)),
    )
    backend = CountingBackend()
    feed = NewsFeed(NewsFeedRepository(migrated), backend, lambda: NOW)
    windows = {"24h": 24, "7d": 168}
    overall = await feed.summaries(windows)
    assert {name: s.items for name, s in overall.items()} == {"24h": 1, "7d": 3}
    assert overall["7d"].labels == {"negative": 2, "positive": 1}
    assert sorted(backend.seen) == ["BTC down", "BTC up", "ETH down"]  # once, for both
    per_asset = await feed.asset_summaries(windows)
    assert {name: sorted(by) for name, by in per_asset.items()} == {
        "24h": ["bitcoin"],
        "7d": ["bitcoin", "ethereum"],
    }
    assert per_asset["7d"]["bitcoin"].mean_score == round((0.6 - 0.4) / 2, 4)
    btc = await feed.summaries(windows, "bitcoin")
    assert (btc["24h"].items, btc["7d"].items) == (1, 2)
    assert len(backend.seen) == 3  # nothing scored twice


async def test_without_a_backend_items_stay_unscored(migrated: Engine) -> None:
    store(migrated, ("BTC up", 1, ("BTC",)))
    feed = NewsFeed(NewsFeedRepository(migrated), None, lambda: NOW)
    rows = await feed.latest(5)
    assert (rows[0].sentiment_label, rows[0].sentiment_score) == (None, None)
    summary = await feed.summary()
    assert (summary.items, summary.scored, summary.labels) == (1, 0, {})
    assert summary.mean_score is None and summary.model is None


async def test_vader_scores_headlines_by_their_words(migrated: Engine) -> None:
    store(
        migrated,
        ("Bitcoin soars to a great new record", 1, ()),
        ("Exchange hacked, funds lost", 2, ()),
    )
    feed = NewsFeed(NewsFeedRepository(migrated), VaderBackend(), lambda: NOW)
    rows = await feed.latest(5)
    assert [r.sentiment_label for r in rows] == ["positive", "negative"]
    assert rows[0].sentiment_score is not None and rows[0].sentiment_score > 0.05
