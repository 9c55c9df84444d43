"""`Container`: everything `build` made, as the API, the CLI and the tests receive it."""

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
from cryptoagg.services.analysis import AnalysisService
from cryptoagg.services.assets import AssetService
from cryptoagg.services.events import EventHub
from cryptoagg.services.history import HistoryService
from cryptoagg.services.images import ImageService
from cryptoagg.services.market import MarketService
from cryptoagg.services.news_feed import NewsFeed
from cryptoagg.services.prices import PriceService
from cryptoagg.services.recorder import Recorder
from cryptoagg.services.sentiment import SentimentService
from cryptoagg.services.status import StatusService
from cryptoagg.storage.candles import CandleRepository
from cryptoagg.storage.repositories import PriceRepository


@dataclass(slots=True)
class Container:
    settings: Settings
    registry: AssetRegistry
    providers: list[Provider]
    pools: dict[Capability, ProviderPool]
    health: HealthBook
    guards: Guards
    engine: Engine
    prices_repo: PriceRepository
    candles_repo: CandleRepository
    history: HistoryService
    sentiment: SentimentService
    news: NewsFeed
    recorder: Recorder
    collectors: Collectors | None
    cache: TTLCache
    prices: PriceService
    market: MarketService
    #: coin images from our own origin (GET /api/images/{asset_id})
    images: ImageService
    status: StatusService
    assets: AssetService
    analysis: AnalysisService
    #: the shared limiter of CPU-heavy work (sentiment, analysis)
    cpu: CpuLimiter
    events: EventHub
    mock: bool
    upstream_base_url: str | None
