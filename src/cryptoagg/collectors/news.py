"""News from every news provider, linked to its assets and stored once per story; newly stored
items are published to the `news` topic of `WS /ws` (and `news:<asset>` for each asset).

Each run also links up to `RELINK_BATCH` items stored before linking existed (or before the
registry knew their assets), so an upgraded database fills its links in the background.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import structlog

from cryptoagg.core.assets import AssetRegistry
from cryptoagg.core.news_links import NewsLinker
from cryptoagg.services.event_payloads import publish_news
from cryptoagg.services.events import Publisher
from cryptoagg.services.news import NewsService
from cryptoagg.services.news_feed import NewsFeed
from cryptoagg.storage.news import Added, Incoming, NewsRepository
from cryptoagg.storage.news_feed import StoredNews

log = structlog.get_logger("cryptoagg.collectors")

#: stored items without links linked per run
RELINK_BATCH = 200


@dataclass
class NewsCollector:
    news: NewsService
    repo: NewsRepository
    publisher: Publisher | None = None
    #: the assets items are linked to; None: items are stored unlinked
    registry: AssetRegistry | None = None
    #: scores the new items before they are published (stored with their sentiment); None:
    #: published unscored, scored on first read
    feed: NewsFeed | None = None

    async def __call__(self) -> int:
        batch = await self.news.fetch()
        registry = self.registry
        linker = NewsLinker(registry.tracked(), registry.asset_id_of) if registry else None
        incoming = [
            Incoming(
                item,
                tuple(linker.links(item.title, item.summary, item.currencies)) if linker else (),
                item.guid,
            )
            for item in batch.items
        ]
        new = await asyncio.to_thread(self.repo.add_stories, incoming)
        if new and self.publisher is not None:
            publish_news(self.publisher, await self._scored(new))
        relinked = await self._relink(linker) if linker is not None else 0
        log.info(
            "news_collected",
            added=len(new),
            copies=len(incoming) - len(new),
            relinked=relinked,
            providers=batch.providers,
            failed=batch.failures,
        )
        return len(new)

    async def _scored(self, new: Sequence[Added]) -> list[StoredNews]:
        rows = [StoredNews(n.id, n.item, assets=n.assets) for n in new]
        if self.feed is None:
            return rows
        try:
            return await self.feed.score(rows)
        except Exception as error:  # a broken backend: published unscored, scored on read
            log.warning("news_scoring_failed", error=type(error).__name__, items=len(rows))
            return rows

    async def _relink(self, linker: NewsLinker) -> int:
        rows = await asyncio.to_thread(self.repo.unlinked, RELINK_BATCH)
        found = [
            (r.id, linker.links(r.item.title, r.item.summary, r.item.currencies)) for r in rows
        ]
        return await asyncio.to_thread(self.repo.set_links, found)
