"""Storing news once per story, with its outlets and links, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from cryptoagg.core.models import NewsItem
from cryptoagg.core.news_links import Link
from cryptoagg.storage.news import Incoming, NewsRepository
from cryptoagg.storage.news_feed import NewsFeedRepository

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def item(
    n: int, title: str | None = None, *, url: str | None = None, source: str = "example"
) -> NewsItem:
    return NewsItem(
        title=title or f"story {n}",
        url=url or f"https://news.example/{n}",
        source=source,
        published_at=T0 + timedelta(minutes=n),
        provider=source.lower(),
    )


def about(*asset_ids: str) -> tuple[Link, ...]:
    return tuple(Link(a, "name", a.title()) for a in asset_ids)


def test_add_stories_returns_only_the_stories_not_stored_before(migrated: Engine) -> None:
    repo = NewsRepository(migrated)
    assert repo.add_stories([]) == []
    first = repo.add_stories([Incoming(item(1)), Incoming(item(2))])
    assert [a.item.url for a in first] == ["https://news.example/1", "https://news.example/2"]
    # a repeated URL is stored once, whatever its title; the batch order is kept
    new = repo.add_stories(
        [Incoming(item(4)), Incoming(item(2, "renamed")), Incoming(item(3)), Incoming(item(4))]
    )
    assert [a.item.url for a in new] == ["https://news.example/4", "https://news.example/3"]
    assert [r.item.title for r in NewsFeedRepository(migrated).latest(10)] == [
        f"story {n}" for n in (4, 3, 2, 1)
    ]


def test_a_story_from_three_outlets_is_one_item_with_three_sources(migrated: Engine) -> None:
    repo = NewsRepository(migrated)
    title = "Bitcoin soars to record high as institutional demand surges"
    new = repo.add_stories(
        [
            Incoming(
                item(1, title, url="https://coindesk.example/a?utm_source=rss", source="CoinDesk"),
                about("bitcoin"),
            ),
            Incoming(
                item(2, title.title(), url="https://ct.example/b", source="Cointelegraph"),
                about("bitcoin"),
            ),
            Incoming(
                item(3, title + "!", url="https://decrypt.example/c", source="Decrypt"),
                about("bitcoin"),
                guid="d-1",
            ),
            # the same link again with other tracking parameters, and the same GUID elsewhere
            Incoming(
                item(
                    4, "x", url="https://www.coindesk.example/a/?utm_medium=feed", source="CoinDesk"
                )
            ),
            Incoming(item(5, "y", url="https://decrypt.example/c2", source="Decrypt"), guid="d-1"),
            # other asset, same words: another story
            Incoming(
                item(
                    6,
                    title.replace("Bitcoin", "Litecoin"),
                    url="https://ct.example/l",
                    source="Cointelegraph",
                ),
                about("litecoin"),
            ),
        ]
    )
    assert [(a.item.source, a.assets) for a in new] == [
        ("CoinDesk", ("bitcoin",)),
        ("Cointelegraph", ("litecoin",)),
    ]
    rows = NewsFeedRepository(migrated).latest(10)
    assert [r.item.title for r in rows] == [new[1].item.title, title]
    btc = rows[1]
    assert btc.assets == ("bitcoin",)
    assert [(s.source, s.matched_by) for s in btc.sources] == [
        ("CoinDesk", "first"),
        ("Cointelegraph", "title"),
        ("Decrypt", "title"),
        ("CoinDesk", "url"),
        ("Decrypt", "guid"),
    ]
    # a later batch repeating the story adds nothing new
    again = repo.add_stories(
        [Incoming(item(9, title, url="https://other.example/z"), about("bitcoin"))]
    )
    assert again == []


def test_a_repeated_title_outside_the_window_is_a_new_story(migrated: Engine) -> None:
    repo = NewsRepository(migrated, window=timedelta(hours=1))
    title = "Ethereum slumps as ETF outflows deepen"
    repo.add_stories([Incoming(item(0, title), about("ethereum"))])
    later = item(0, title, url="https://news.example/later").model_copy(
        update={"published_at": T0 + timedelta(hours=2)}
    )
    assert len(repo.add_stories([Incoming(later, about("ethereum"))])) == 1


def test_items_stored_before_linking_are_linked_later(migrated: Engine) -> None:
    repo = NewsRepository(migrated)
    repo.add_stories([Incoming(item(1, "Bitcoin rallies"))])
    with migrated.begin() as connection:
        connection.execute(text("UPDATE news SET linked = false"))
    [row] = repo.unlinked(10)
    assert row.item.title == "Bitcoin rallies"
    assert repo.set_links([(row.id, about("bitcoin"))]) == 1
    assert repo.unlinked(10) == []
    [stored] = NewsFeedRepository(migrated).latest(1, asset_id="bitcoin")
    assert stored.assets == ("bitcoin",)
