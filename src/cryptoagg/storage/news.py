"""Stored news items (one row per URL) and their sentiment."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from cryptoagg.core.models import NewsItem
from cryptoagg.storage.dialect import insert_ignoring_duplicates
from cryptoagg.storage.tables import news


def news_item(r: Any) -> NewsItem:
    """A `news` row (mapping) as the domain item."""
    return NewsItem(
        title=r["title"],
        url=r["url"],
        source=r["source"],
        published_at=r["published_at"],
        provider=r["provider"],
        summary=r["summary"],
        currencies=tuple(r["currencies"]),
    )


class NewsRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add_many(self, items: Sequence[NewsItem]) -> int:
        """Store items not seen before (by URL); returns how many were new."""
        return len(self.add_new(items))

    def add_new(self, items: Sequence[NewsItem]) -> list[NewsItem]:
        """Store items not seen before (by URL); returns those, in the order given."""
        if not items:
            return []
        unique = {item.url: item for item in items}
        values = [
            {
                "url": item.url,
                "title": item.title,
                "source": item.source,
                "provider": item.provider,
                "published_at": item.published_at,
                "summary": item.summary,
                "currencies": list(item.currencies),
            }
            for item in unique.values()
        ]
        statement = insert_ignoring_duplicates(self.engine, news).returning(news.c.url)
        with self.engine.begin() as connection:
            stored = {row.url for row in connection.execute(statement, values)}
        return [item for url, item in unique.items() if url in stored]

    def latest(self, limit: int, since: datetime | None = None) -> list[NewsItem]:
        query = select(news).order_by(news.c.published_at.desc(), news.c.id.desc()).limit(limit)
        if since is not None:
            query = query.where(news.c.published_at >= since)
        with self.engine.connect() as connection:
            return [news_item(r) for r in connection.execute(query).mappings()]
