"""What a `WS /ws` subscription starts with: the topic a client named, in canonical form, and
the data of its snapshot frame when the hub holds no update for it yet.

The WebSocket route keeps the protocol (frames, limits, close codes); the data comes from here:
provider states from memory, the latest stored news, a consensus price from the price
service's cache. Topics are `prices:<asset>` and `news:<asset>` (an id, ticker or alias,
answered under the canonical id), `providers` and `news`.
"""

from __future__ import annotations

import asyncio

from cryptoagg.core.errors import CryptoAggError
from cryptoagg.services.assets import AssetService
from cryptoagg.services.event_payloads import news_data, price_data, providers_data
from cryptoagg.services.events import (
    NEWS,
    NEWS_PREFIX,
    PRICES_PREFIX,
    PROVIDERS,
    EventHub,
    news_topic,
    price_topic,
)
from cryptoagg.services.prices import PriceService
from cryptoagg.services.status import StatusService
from cryptoagg.storage.news_feed import NewsFeedRepository

#: stored news items in a `news` snapshot when nothing was published since start-up
NEWS_SNAPSHOT_ITEMS = 20


class UnknownTopic(CryptoAggError):
    """A topic the server cannot serve: not one of the topics, or an asset it cannot name."""

    code = "unknown_topic"


class LiveTopics:
    def __init__(
        self,
        hub: EventHub,
        *,
        assets: AssetService,
        status: StatusService,
        prices: PriceService,
        news: NewsFeedRepository,
        deadline_s: float,
    ) -> None:
        self.hub = hub
        self.assets = assets
        self.status = status
        self.prices = prices
        self.news_rows = news
        #: how long a price snapshot may wait for a consensus
        self.deadline_s = deadline_s

    def canonical(self, raw: str) -> str:
        """The topic `raw` names, with an asset as its canonical id; `UnknownTopic` when it
        names none (the message says why)."""
        if raw in (PROVIDERS, NEWS):
            return raw
        for prefix, topic in ((PRICES_PREFIX, price_topic), (NEWS_PREFIX, news_topic)):
            if raw.startswith(prefix):
                try:
                    return topic(self.assets.resolve(raw.removeprefix(prefix)).asset.id)
                except CryptoAggError as exc:
                    raise UnknownTopic(exc.message) from None
        raise UnknownTopic(
            f"unknown topic {raw!r}; topics: prices:<asset>, providers, news, news:<asset>"
        )

    def providers(self) -> object:
        """Every provider's state, computed now from memory (the provider feed publishes
        changes only every few seconds)."""
        return providers_data(self.status.providers_status())

    async def news(self, topic: str = NEWS) -> object:
        """The latest stored items of `news` or `news:<asset_id>` (an update holds only the
        items new in its run); read again if an update was published during the read, so none
        is missed."""
        asset_id = topic.removeprefix(NEWS_PREFIX) if topic != NEWS else None
        while True:
            before = self.hub.latest(topic)
            rows = await asyncio.to_thread(
                self.news_rows.latest, NEWS_SNAPSHOT_ITEMS, asset_id=asset_id
            )
            if self.hub.latest(topic) is before:
                return news_data(rows)

    async def price(self, topic: str) -> object:
        """A consensus for an asset the collector has not published yet (`None` if none)."""
        asset_id = topic.removeprefix(PRICES_PREFIX)
        try:
            # the cached consensus: a second subscriber costs no upstream call
            async with asyncio.timeout(self.deadline_s):
                served = await self.prices.price(asset_id)
        except (CryptoAggError, TimeoutError):
            return None
        report = served.value
        return price_data(report)
