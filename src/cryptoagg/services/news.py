"""News from every news provider at once, de-duplicated by URL."""

from __future__ import annotations

from dataclasses import dataclass

from cryptoagg.core.models import Capability, NewsItem
from cryptoagg.services.context import ServiceContext


@dataclass(frozen=True, slots=True)
class NewsBatch:
    items: list[NewsItem]
    providers: list[str]
    failures: dict[str, str]


class NewsService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def fetch(self) -> NewsBatch:
        """Ask every news provider; the newest first, one item per URL."""
        gathered = await self.ctx.pool(Capability.NEWS).gather(lambda p: p.news())
        by_url: dict[str, NewsItem] = {}
        for answer in gathered.answers:
            for item in answer.value:
                by_url.setdefault(item.url, item)
        items = sorted(by_url.values(), key=lambda i: i.published_at, reverse=True)
        return NewsBatch(items, [a.provider for a in gathered.answers], gathered.reasons)
