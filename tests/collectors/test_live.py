"""The collectors' side of live updates: what they publish to the hub."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from sqlalchemy import Engine

from cryptoagg.collectors.news import NewsCollector
from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.models import NewsItem
from cryptoagg.services.events import NEWS, EventHub, Subscriber
from cryptoagg.services.news import NewsBatch
from cryptoagg.services.news_feed import NewsFeed
from cryptoagg.services.sentiment import MarketBackend
from cryptoagg.storage.db import make_engine, upgrade
from cryptoagg.storage.news import NewsRepository
from cryptoagg.storage.news_feed import NewsFeedRepository

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def item(n: int) -> NewsItem:
    return NewsItem(
        title=f"story {n}",
        url=f"https://news.example/{n}",
        source="example",
        published_at=T0 + timedelta(minutes=n),
        provider="coindesk",
        currencies=("BTC",),
    )


class FakeNews:
    def __init__(self) -> None:
        self.items: list[NewsItem] = []

    async def fetch(self) -> NewsBatch:
        return NewsBatch(list(self.items), ["coindesk"], {})


def news_hub(tmp_path: Path) -> tuple[Engine, EventHub, Subscriber]:
    """A migrated database, and a hub with one subscriber of `news` (its snapshot taken)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'news.db'}")
    upgrade(engine)
    hub = EventHub(queue_size=8, clock=lambda: T0)
    subscriber = hub.connect()
    hub.subscribe(subscriber, NEWS)
    subscriber.queue.get_nowait()  # the snapshot
    return engine, hub, subscriber


async def test_the_news_collector_publishes_only_newly_stored_items(tmp_path: Path) -> None:
    engine, hub, subscriber = news_hub(tmp_path)
    news = FakeNews()
    collector = NewsCollector(news, NewsRepository(engine), hub)  # type: ignore[arg-type]

    news.items = [item(2), item(1)]
    assert await collector() == 2
    news.items = [item(3), item(2), item(1)]
    assert await collector() == 1
    assert await collector() == 0  # nothing new: nothing published

    frames = [orjson.loads(subscriber.queue.get_nowait()) for _ in range(2)]
    assert subscriber.queue.empty() and hub.stats.published == 2
    assert [[i["url"] for i in f["data"]["items"]] for f in frames] == [
        ["https://news.example/2", "https://news.example/1"],
        ["https://news.example/3"],
    ]
    assert frames[1]["data"]["items"][0] == {
        "title": "story 3",
        "url": "https://news.example/3",
        "source": "example",
        "provider": "coindesk",
        "published_at": "2026-01-01T00:03:00Z",
        "summary": None,
        "currencies": ["BTC"],
        "assets": [],
        "sentiment_label": None,  # no scorer given: scored on first read
        "sentiment_score": None,
        "sentiment_terms": [],
    }
    assert len(NewsFeedRepository(engine).latest(10)) == 3
    engine.dispose()


async def test_the_news_collector_links_items_and_publishes_them_per_asset(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'news.db'}")
    upgrade(engine)
    hub = EventHub(queue_size=8, clock=lambda: T0)
    btc, eth = hub.connect(), hub.connect()
    hub.subscribe(btc, "news:bitcoin")
    hub.subscribe(eth, "news:ethereum")
    for s in (btc, eth):
        s.queue.get_nowait()  # the snapshots
    news = FakeNews()
    registry = seeded_registry()
    collector = NewsCollector(news, NewsRepository(engine), hub, registry)  # type: ignore[arg-type]
    titled = [
        item(1).model_copy(update={"title": "Bitcoin slips below $90,000", "currencies": ()}),
        item(2).model_copy(update={"title": "Ether and BTC rally together", "currencies": ()}),
        # the first story again, from another outlet
        item(3).model_copy(
            update={"title": "Bitcoin Slips Below $90,000", "source": "other", "currencies": ()}
        ),
    ]
    news.items = titled
    assert await collector() == 2
    [to_btc] = [orjson.loads(btc.queue.get_nowait())]
    [to_eth] = [orjson.loads(eth.queue.get_nowait())]
    assert [(i["title"], i["assets"]) for i in to_btc["data"]["items"]] == [
        ("Bitcoin slips below $90,000", ["bitcoin"]),
        ("Ether and BTC rally together", ["bitcoin", "ethereum"]),
    ]
    assert [i["title"] for i in to_eth["data"]["items"]] == ["Ether and BTC rally together"]
    engine.dispose()


async def test_published_items_carry_the_sentiment_they_are_stored_with(tmp_path: Path) -> None:
    engine, hub, subscriber = news_hub(tmp_path)
    news = FakeNews()
    stored = NewsFeedRepository(engine)
    feed = NewsFeed(stored, MarketBackend(), lambda: T0)
    collector = NewsCollector(news, NewsRepository(engine), hub, None, feed)  # type: ignore[arg-type]
    news.items = [
        item(1).model_copy(update={"title": "Bitcoin plunges as liquidations mount"}),
        item(2).model_copy(update={"title": "Bitcoin soars to a record high"}),
    ]
    assert await collector() == 2
    frame = orjson.loads(subscriber.queue.get_nowait())
    pushed = {
        i["title"]: (i["sentiment_label"], i["sentiment_score"]) for i in frame["data"]["items"]
    }
    assert [label for label, _ in pushed.values()] == ["negative", "positive"]
    # what was pushed is what is stored: the items are not scored again on read
    rows = stored.latest(10, unscored_for=MarketBackend().model)
    assert rows == []
    assert {
        r.item.title: (r.sentiment_label, r.sentiment_score) for r in stored.latest(10)
    } == pushed
    engine.dispose()
