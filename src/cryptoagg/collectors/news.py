"""News from every news provider, stored once per URL."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog

from cryptoagg.services.news import NewsService
from cryptoagg.storage.news import NewsRepository

log = structlog.get_logger("cryptoagg.collectors")


@dataclass
class NewsCollector:
    news: NewsService
    repo: NewsRepository

    async def __call__(self) -> int:
        batch = await self.news.fetch()
        added = await asyncio.to_thread(self.repo.add_many, batch.items)
        log.info("news_collected", added=added, providers=batch.providers, failed=batch.failures)
        return added
