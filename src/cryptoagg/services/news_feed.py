"""Stored news as served: newest first, by asset (the links `collectors/news.py` stores), every
item with its sentiment; and sentiment summaries, overall and per asset, over a window.

Items are scored when first read: the headline goes through the configured sentiment backend
(`SENTIMENT_BACKEND`) and the label and score are written back to `news`, so each item is
scored once. Scores are whatever the backend that scored an item said; changing the backend
does not rescore stored items.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from cryptoagg.services.sentiment import SentimentBackend
from cryptoagg.storage.news_feed import LabelCount, NewsFeedRepository, StoredNews

__all__ = ["NewsFeed", "SentimentSummary", "StoredNews"]

log = structlog.get_logger("cryptoagg.news")

#: the summary scores at most this many unscored items of its window per call
SUMMARY_SCORE_LIMIT = 500


@dataclass(frozen=True, slots=True)
class SentimentSummary:
    since: datetime
    items: int
    scored: int
    labels: dict[str, int]
    #: mean score of the scored items (-1 to 1), None when none is scored
    mean_score: float | None
    model: str | None


class NewsFeed:
    def __init__(
        self,
        repo: NewsFeedRepository,
        sentiment: SentimentBackend | None,
        clock: Callable[[], datetime],
    ) -> None:
        self.repo = repo
        self.sentiment = sentiment
        self.clock = clock

    async def latest(
        self, limit: int, asset_id: str | None = None, since: datetime | None = None
    ) -> list[StoredNews]:
        rows = await asyncio.to_thread(self.repo.latest, limit, asset_id=asset_id, since=since)
        return await self.score(rows)

    async def score(self, rows: Sequence[StoredNews]) -> list[StoredNews]:
        """`rows` with the unscored ones scored (and stored); unchanged without a backend."""
        backend = self.sentiment
        todo = [r for r in rows if r.sentiment_label is None]
        if backend is None or not todo:
            return list(rows)
        results = await asyncio.to_thread(backend.score, [r.item.title for r in todo])
        scored = {r.id: r.scored(s.label, s.score) for r, s in zip(todo, results, strict=True)}
        await asyncio.to_thread(self.repo.set_sentiment, list(scored.values()))
        log.info("news_scored", items=len(scored), model=backend.model)
        return [scored.get(r.id, r) for r in rows]

    async def summary(self, hours: float = 24, asset_id: str | None = None) -> SentimentSummary:
        """Sentiment of the items published in the last `hours` (about `asset_id`, when
        given), per label."""
        since = await self._scored_since(hours)
        counts = await asyncio.to_thread(self.repo.label_counts, since, asset_id)
        return self._summary(since, counts)

    async def asset_summaries(self, hours: float = 24) -> dict[str, SentimentSummary]:
        """Per linked asset: the sentiment of its items published in the last `hours`."""
        since = await self._scored_since(hours)
        by_asset = await asyncio.to_thread(self.repo.label_counts_by_asset, since)
        return {asset_id: self._summary(since, c) for asset_id, c in sorted(by_asset.items())}

    async def _scored_since(self, hours: float) -> datetime:
        """The start of the window, its unscored items scored first."""
        since = self.clock() - timedelta(hours=hours)
        if self.sentiment is not None:
            unscored = await asyncio.to_thread(
                self.repo.latest, SUMMARY_SCORE_LIMIT, since=since, unscored_only=True
            )
            await self.score(unscored)
        return since

    def _summary(self, since: datetime, counts: Sequence[LabelCount]) -> SentimentSummary:
        labels = {c.label: c.items for c in counts if c.label is not None}
        scored = sum(labels.values())
        total = sum(c.items for c in counts)
        score_sum = sum(c.score_sum for c in counts if c.label is not None)
        return SentimentSummary(
            since=since,
            items=total,
            scored=scored,
            labels=dict(sorted(labels.items())),
            mean_score=round(score_sum / scored, 4) if scored else None,
            model=self.sentiment.model if self.sentiment is not None else None,
        )
