"""Reading stored news for the API: newest first, by asset (through `news_assets`), with the
outlets that carried each story and its sentiment; and the sentiment columns
(`sentiment_label`, `sentiment_score`, `sentiment_model`, `sentiment_terms`) written back once
scored. An item scored by another model than the one asked about counts as unscored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    bindparam,
    case,
    func,
    null,
    select,
    update,
)

from cryptoagg.core.models import NewsItem
from cryptoagg.core.sentiment import Term
from cryptoagg.storage.news import news_item
from cryptoagg.storage.tables import news, news_assets, news_sources


@dataclass(frozen=True, slots=True)
class NewsSource:
    """An outlet that carried a story, and why its copy counts as the same story."""

    source: str
    provider: str
    url: str
    published_at: datetime
    matched_by: str


@dataclass(frozen=True, slots=True)
class StoredNews:
    id: int
    item: NewsItem
    sentiment_label: str | None = None
    sentiment_score: float | None = None
    #: the assets the story is about (ids), and every outlet that carried it (first first)
    assets: tuple[str, ...] = ()
    sources: tuple[NewsSource, ...] = ()
    #: the backend that scored it, and the words and phrases that moved its score
    sentiment_model: str | None = None
    sentiment_terms: tuple[Term, ...] = ()

    def scored(self, label: str, score: float, model: str, terms: tuple[Term, ...]) -> StoredNews:
        return replace(
            self,
            sentiment_label=label,
            sentiment_score=score,
            sentiment_model=model,
            sentiment_terms=terms,
        )

    def scored_by(self, model: str) -> bool:
        return self.sentiment_label is not None and self.sentiment_model == model


@dataclass(frozen=True, slots=True)
class LabelCount:
    label: str | None
    items: int
    score_sum: float


def _stored(r: Any) -> StoredNews:
    return StoredNews(
        r["id"],
        news_item(r),
        r["sentiment_label"],
        r["sentiment_score"],
        sentiment_model=r["sentiment_model"],
        sentiment_terms=tuple(Term(t, w, by) for t, w, by in r["sentiment_terms"] or ()),
    )


def _label(model: str | None) -> ColumnElement[Any]:
    """The stored label, or null for an item scored by another model than `model` (any
    model: None)."""
    if model is None:
        return news.c.sentiment_label
    return case((news.c.sentiment_model == model, news.c.sentiment_label), else_=null())


def _about(query: Select[Any], asset_id: str | None) -> Select[Any]:
    if asset_id is None:
        return query
    linked = select(news_assets.c.news_id).where(news_assets.c.asset_id == asset_id)
    return query.where(news.c.id.in_(linked))


def _with_links(connection: Connection, rows: list[StoredNews]) -> list[StoredNews]:
    """`rows` with their assets and sources, two queries for the page."""
    if not rows:
        return rows
    ids = [r.id for r in rows]
    assets: dict[int, list[str]] = {}
    query = (
        select(news_assets.c.news_id, news_assets.c.asset_id)
        .where(news_assets.c.news_id.in_(ids))
        .order_by(news_assets.c.news_id, news_assets.c.asset_id)
    )
    for news_id, asset_id in connection.execute(query):
        assets.setdefault(news_id, []).append(asset_id)
    sources: dict[int, list[NewsSource]] = {}
    query = (
        select(news_sources)
        .where(news_sources.c.news_id.in_(ids))
        .order_by(
            news_sources.c.news_id,
            news_sources.c.matched_by != "first",  # the stored item first, then its copies
            news_sources.c.published_at,
            news_sources.c.url,
        )
    )
    for r in connection.execute(query).mappings():
        source = NewsSource(
            r["source"], r["provider"], r["url"], r["published_at"], r["matched_by"]
        )
        sources.setdefault(r["news_id"], []).append(source)
    return [
        replace(r, assets=tuple(assets.get(r.id, ())), sources=tuple(sources.get(r.id, ())))
        for r in rows
    ]


class NewsFeedRepository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def latest(
        self,
        limit: int,
        *,
        asset_id: str | None = None,
        since: datetime | None = None,
        unscored_for: str | None = None,
    ) -> list[StoredNews]:
        """Newest first; only items about `asset_id`, published at or after `since`, or not
        scored by the model `unscored_for`, when asked."""
        query = select(news).order_by(news.c.published_at.desc(), news.c.id.desc()).limit(limit)
        query = _about(query, asset_id)
        if since is not None:
            query = query.where(news.c.published_at >= since)
        if unscored_for is not None:
            query = query.where(_label(unscored_for).is_(None))
        with self.engine.connect() as connection:
            rows = [_stored(r) for r in connection.execute(query).mappings()]
            return _with_links(connection, rows)

    def set_sentiment(self, rows: Sequence[StoredNews]) -> int:
        """Write the sentiment of `rows` (by id); returns how many were updated."""
        scored = [r for r in rows if r.sentiment_label is not None]
        if not scored:
            return 0
        statement = (
            update(news)
            .where(news.c.id == bindparam("row_id"))
            .values(
                sentiment_label=bindparam("label"),
                sentiment_score=bindparam("score"),
                sentiment_model=bindparam("model"),
                sentiment_terms=bindparam("terms"),
            )
        )
        values = [
            {
                "row_id": r.id,
                "label": r.sentiment_label,
                "score": r.sentiment_score,
                "model": r.sentiment_model,
                "terms": [[t.text, t.weight, t.by] for t in r.sentiment_terms],
            }
            for r in scored
        ]
        with self.engine.begin() as connection:
            connection.execute(statement, values)
        return len(scored)

    def label_counts(
        self, since: datetime, asset_id: str | None = None, model: str | None = None
    ) -> list[LabelCount]:
        """Items published at or after `since` (about `asset_id`, when given), per sentiment
        label (None: not scored, or by another model than `model`)."""
        label, score = _label(model), news.c.sentiment_score
        query = select(label, func.count(), func.coalesce(func.sum(score), 0.0))
        query = _about(query.where(news.c.published_at >= since), asset_id).group_by(label)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [LabelCount(r[0], int(r[1]), float(r[2])) for r in rows]

    def label_counts_by_asset(
        self, since: datetime, model: str | None = None
    ) -> dict[str, list[LabelCount]]:
        """Items published at or after `since`, per linked asset and sentiment label (None:
        not scored, or by another model than `model`)."""
        label, score = _label(model), news.c.sentiment_score
        query = (
            select(news_assets.c.asset_id, label, func.count(), func.coalesce(func.sum(score), 0.0))
            .join(news, news.c.id == news_assets.c.news_id)
            .where(news.c.published_at >= since)
            .group_by(news_assets.c.asset_id, label)
        )
        counts: dict[str, list[LabelCount]] = {}
        with self.engine.connect() as connection:
            for asset_id, name, items, total in connection.execute(query):
                counts.setdefault(asset_id, []).append(LabelCount(name, int(items), float(total)))
        return counts
