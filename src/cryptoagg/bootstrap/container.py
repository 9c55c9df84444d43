"""What `build` yields: `Services`, the API's view (use cases only), inside `Container`, the
whole composition root as the CLI and the tests receive it.

Routes and the WebSocket see `Services` alone (`api/deps.py`), so they can only ask a use case
and render its answer: there is no engine, guard, registry, repository or provider in it to
reach past the services with. The CLI and the tests keep the infrastructure too: they probe
providers, open the database and inspect state directly.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from cryptoagg.collectors.runner import Collectors
from cryptoagg.config import Settings
from cryptoagg.core.assets import AssetRegistry
from cryptoagg.core.models import Capability
from cryptoagg.core.ports import Provider
from cryptoagg.resilience.cache import TTLCache
from cryptoagg.resilience.cpu import CpuLimiter
from cryptoagg.resilience.guard import Guards
from cryptoagg.resilience.health import HealthBook
from cryptoagg.resilience.pool import ProviderPool
from cryptoagg.resilience.redis_link import RedisLink
from cryptoagg.resilience.shared_window import SharedWindows
from cryptoagg.services.analysis import AnalysisService
from cryptoagg.services.assets import AssetService
from cryptoagg.services.events import EventHub
from cryptoagg.services.health import ServiceHealth
from cryptoagg.services.history import HistoryService
from cryptoagg.services.images import ImageService
from cryptoagg.services.live import LiveTopics
from cryptoagg.services.market import MarketService
from cryptoagg.services.monitoring import MonitoringService
from cryptoagg.services.news_feed import NewsFeed
from cryptoagg.services.price_records import PriceRecords
from cryptoagg.services.prices import PriceService
from cryptoagg.services.recorder import Recorder
from cryptoagg.services.sentiment import SentimentService
from cryptoagg.services.status import StatusService
from cryptoagg.services.telemetry import Telemetry
from cryptoagg.storage.candles import CandleRepository
from cryptoagg.storage.repositories import PriceRepository


@dataclass(frozen=True, slots=True)
class Services:
    """The use cases the API calls, and the settings they were built with."""

    settings: Settings
    prices: PriceService
    market: MarketService
    #: stored price records (`/api/market/history`)
    price_records: PriceRecords
    history: HistoryService
    assets: AssetService
    analysis: AnalysisService
    #: coin images from our own origin (GET /api/images/{asset_id})
    images: ImageService
    news: NewsFeed
    sentiment: SentimentService
    status: StatusService
    #: failed checks, incidents and alerts
    monitoring: MonitoringService
    #: `GET /health`
    health: ServiceHealth
    #: what `/metrics` reads at scrape time
    telemetry: Telemetry
    #: what a WebSocket subscription starts with
    live: LiveTopics
    #: the live-update hub behind WS /ws
    events: EventHub
    #: the writer of served prices and user queries
    recorder: Recorder


@dataclass(slots=True)
class Container:
    """`services` and the infrastructure behind them; a service is also reachable by its
    name here (`container.prices`), for the CLI and the tests."""

    services: Services
    registry: AssetRegistry
    providers: list[Provider]
    pools: dict[Capability, ProviderPool]
    health: HealthBook
    guards: Guards
    engine: Engine
    prices_repo: PriceRepository
    candles_repo: CandleRepository
    collectors: Collectors | None
    cache: TTLCache
    #: the shared limiter of CPU-heavy work (sentiment, analysis)
    cpu: CpuLimiter
    mock: bool
    upstream_base_url: str | None
    #: the link to the state shared with other replicas (REDIS_URL; None: in-process only)
    redis: RedisLink | None = None
    #: the inbound rate limit's windows shared by the replicas (REDIS_URL; None: none)
    inbound: SharedWindows | None = None

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def prices(self) -> PriceService:
        return self.services.prices

    @property
    def market(self) -> MarketService:
        return self.services.market

    @property
    def history(self) -> HistoryService:
        return self.services.history

    @property
    def assets(self) -> AssetService:
        return self.services.assets

    @property
    def analysis(self) -> AnalysisService:
        return self.services.analysis

    @property
    def images(self) -> ImageService:
        return self.services.images

    @property
    def news(self) -> NewsFeed:
        return self.services.news

    @property
    def sentiment(self) -> SentimentService:
        return self.services.sentiment

    @property
    def status(self) -> StatusService:
        return self.services.status

    @property
    def events(self) -> EventHub:
        return self.services.events

    @property
    def recorder(self) -> Recorder:
        return self.services.recorder
