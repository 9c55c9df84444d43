from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from cryptoagg.core.models import NewsItem
from cryptoagg.storage.news import NewsRepository

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def item(n: int, title: str | None = None) -> NewsItem:
    return NewsItem(
        title=title or f"story {n}",
        url=f"https://news.example/{n}",
        source="example",
        published_at=T0 + timedelta(minutes=n),
        provider="coindesk",
    )


def test_add_new_returns_only_the_items_not_stored_before(migrated: Engine) -> None:
    repo = NewsRepository(migrated)
    assert repo.add_new([]) == []
    assert [i.url for i in repo.add_new([item(1), item(2)])] == [
        "https://news.example/1",
        "https://news.example/2",
    ]
    # a repeated URL is stored once, whatever its title; the batch order is kept
    new = repo.add_new([item(4), item(2, "renamed"), item(3), item(4)])
    assert [i.url for i in new] == ["https://news.example/4", "https://news.example/3"]
    assert repo.add_many([item(1), item(5)]) == 1
    stored = repo.latest(10)
    assert [i.title for i in stored] == [f"story {n}" for n in (5, 4, 3, 2, 1)]
