"""Stored news as served: newest first, by asset (the links `collectors/news.py` stores), every
item with its sentiment; and sentiment summaries, overall and per asset, over a window.

Items are scored when first read: the headline goes through the configured sentiment backend
(`SENTIMENT_BACKEND`) and the label and score are written back to `news`, so each item is
scored once. Scores are whatever the backend that scored an item said; changing the backend
does not rescore stored items.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from cryptoagg.resilience.cpu import CpuLimiter
from cryptoagg.services.sentiment import SentimentBackend, score_on
from cryptoagg.services.sentiment_result import SentimentResult
from cryptoagg.storage.news_feed import LabelCount, NewsFeedRepository, StoredNews

__all__ = ["NewsFeed", "SentimentSummary", "StoredNews"]

log = structlog.get_logger("cryptoagg.news")

#: a summary scores at most this many unscored items of its windows per call
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
        limiter: CpuLimiter | None = None,
    ) -> None:
        """`limiter`: the CPU limiter headlines are scored on (waiting behind clients' jobs,
        never refused); None: a thread of its own."""
        self.repo = repo
        self.sentiment = sentiment
        self.clock = clock
        self.limiter = limiter

    async def latest(
        self, limit: int, asset_id: str | None = None, since: datetime | None = None
    ) -> list[StoredNews]:
        rows = await asyncio.to_thread(self.repo.latest, limit, asset_id=asset_id, since=since)
        return await self.score(rows)

    async def score(self, rows: Sequence[StoredNews]) -> list[StoredNews]:
        """`rows` with the ones not scored by the backend's model scored (and stored, with
        the terms that moved them); unchanged without a backend."""
        backend = self.sentiment
        if backend is None:
            return list(rows)
        todo = [r for r in rows if not r.scored_by(backend.model)]
        if not todo:
            return list(rows)
        results = await self._score([r.item.title for r in todo], backend)
        scored = {
            r.id: r.scored(s.label, s.score, s.model, s.terms)
            for r, s in zip(todo, results, strict=True)
        }
        await asyncio.to_thread(self.repo.set_sentiment, list(scored.values()))
        log.info("news_scored", items=len(scored), model=backend.model)
        return [scored.get(r.id, r) for r in rows]

    async def _score(self, titles: list[str], backend: SentimentBackend) -> list[SentimentResult]:
        if self.limiter is None:
            return await asyncio.to_thread(backend.score, titles)
        return await score_on(self.limiter, backend, titles, refuse_when_full=False)

    async def summary(self, hours: float = 24, asset_id: str | None = None) -> SentimentSummary:
        """Sentiment of the items published in the last `hours` (about `asset_id`, when
        given), per label."""
        return (await self.summaries({"": hours}, asset_id))[""]

    async def summaries(
        self, windows: Mapping[str, float], asset_id: str | None = None
    ) -> dict[str, SentimentSummary]:
        """`summary` for each named window (name -> hours), the unscored items of the longest
        scored once for all of them."""
        starts = await self._scored_starts(windows)
        return {
            name: self._summary(
                since,
                await asyncio.to_thread(self.repo.label_counts, since, asset_id, self._model),
            )
            for name, since in starts.items()
        }

    async def asset_summaries(
        self, windows: Mapping[str, float]
    ) -> dict[str, dict[str, SentimentSummary]]:
        """Per named window, per linked asset: the sentiment of its items published in the
        window, the unscored items of the longest scored once for all of them."""
        starts = await self._scored_starts(windows)
        summaries: dict[str, dict[str, SentimentSummary]] = {}
        for name, since in starts.items():
            by_asset = await asyncio.to_thread(self.repo.label_counts_by_asset, since, self._model)
            summaries[name] = {a: self._summary(since, c) for a, c in sorted(by_asset.items())}
        return summaries

    async def _scored_starts(self, windows: Mapping[str, float]) -> dict[str, datetime]:
        """The start of each window, the unscored items of the longest scored first."""
        now = self.clock()
        starts = {name: now - timedelta(hours=hours) for name, hours in windows.items()}
        if self.sentiment is not None and starts:
            unscored = await asyncio.to_thread(
                self.repo.latest,
                SUMMARY_SCORE_LIMIT,
                since=min(starts.values()),
                unscored_for=self.sentiment.model,
            )
            await self.score(unscored)
        return starts

    @property
    def _model(self) -> str | None:
        return self.sentiment.model if self.sentiment is not None else None

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
