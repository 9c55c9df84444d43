"""Reading stored news for the API: newest first, by currency, with sentiment; and the
sentiment columns (`sentiment_label`, `sentiment_score`) written back once scored.

`currencies` is a JSON list of tickers. Filtering by one is a `LIKE '%"BTC"%'` on the
column's text, which means the same on SQLite and PostgreSQL (both keep the JSON text as
written: a list of quoted tickers), so the database applies the limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Text, bindparam, cast, func, select, update

from cryptoagg.core.models import NewsItem
from cryptoagg.storage.news import news_item
from cryptoagg.storage.tables import news


@dataclass(frozen=True, slots=True)
class StoredNews:
    id: int
    item: NewsItem
    sentiment_label: str | None = None
    sentiment_score: float | None = None

    def scored(self, label: str, score: float) -> StoredNews:
        return replace(self, sentiment_label=label, sentiment_score=score)


@dataclass(frozen=True, slots=True)
class LabelCount:
    label: str | None
    items: int
    score_sum: float


def _like_ticker(ticker: str) -> str:
    escaped = ticker.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f'%"{escaped}"%'


def _stored(r: Any) -> StoredNews:
    return StoredNews(r["id"], news_item(r), r["sentiment_label"], r["sentiment_score"])


class NewsFeedRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def latest(
        self,
        limit: int,
        *,
        currency: str | None = None,
        since: datetime | None = None,
        unscored_only: bool = False,
    ) -> list[StoredNews]:
        """Newest first; only items tagged with ticker `currency`, published at or after
        `since`, or not yet scored, when asked."""
        query = select(news).order_by(news.c.published_at.desc(), news.c.id.desc()).limit(limit)
        if currency is not None:
            text = cast(news.c.currencies, Text)
            query = query.where(text.like(_like_ticker(currency.upper()), escape="\\"))
        if since is not None:
            query = query.where(news.c.published_at >= since)
        if unscored_only:
            query = query.where(news.c.sentiment_label.is_(None))
        with self.engine.connect() as connection:
            return [_stored(r) for r in connection.execute(query).mappings()]

    def set_sentiment(self, rows: Sequence[StoredNews]) -> int:
        """Write the sentiment of `rows` (by id); returns how many were updated."""
        scored = [r for r in rows if r.sentiment_label is not None]
        if not scored:
            return 0
        statement = (
            update(news)
            .where(news.c.id == bindparam("row_id"))
            .values(sentiment_label=bindparam("label"), sentiment_score=bindparam("score"))
        )
        values = [
            {"row_id": r.id, "label": r.sentiment_label, "score": r.sentiment_score} for r in scored
        ]
        with self.engine.begin() as connection:
            connection.execute(statement, values)
        return len(scored)

    def label_counts(self, since: datetime) -> list[LabelCount]:
        """Items published at or after `since`, per sentiment label (None: not scored)."""
        label, score = news.c.sentiment_label, news.c.sentiment_score
        query = (
            select(label, func.count(), func.coalesce(func.sum(score), 0.0))
            .where(news.c.published_at >= since)
            .group_by(label)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [LabelCount(r[0], int(r[1]), float(r[2])) for r in rows]
