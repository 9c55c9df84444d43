"""News from every news provider, stored once per URL; newly stored items are published to
the `news` topic of `WS /ws`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog

from cryptoagg.services.events import NEWS, Publisher, news_data
from cryptoagg.services.news import NewsService
from cryptoagg.storage.news import NewsRepository

log = structlog.get_logger("cryptoagg.collectors")


@dataclass
class NewsCollector:
    news: NewsService
    repo: NewsRepository
    publisher: Publisher | None = None

    async def __call__(self) -> int:
        batch = await self.news.fetch()
        new = await asyncio.to_thread(self.repo.add_new, batch.items)
        if new and self.publisher is not None:
            self.publisher.publish(NEWS, news_data(new))
        added = len(new)
        log.info("news_collected", added=added, providers=batch.providers, failed=batch.failures)
        return added
