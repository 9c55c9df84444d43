"""The coin image service: its disk cache in the mode's state directory, the providers that
host images, and the guarded-call path their fetches take."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Sequence

from cryptoagg.bootstrap.tasks import utcnow
from cryptoagg.config import Settings
from cryptoagg.core.assets import AssetRegistry
from cryptoagg.core.errors import ConfigError
from cryptoagg.core.ports import ImageHost, Provider
from cryptoagg.resilience.guard import GuardedCalls, Guards
from cryptoagg.resilience.health import HealthBook
from cryptoagg.services.images import ImageService
from cryptoagg.storage.images import ImageStore


async def image_service(
    settings: Settings,
    providers: Sequence[Provider],
    *,
    registry: AssetRegistry,
    guards: Guards,
    health: HealthBook,
    stack: contextlib.AsyncExitStack,
) -> ImageService:
    """IMAGE_CACHE_MAX_BYTES=0: no store, so nothing is fetched (every coin gets its icon).
    Fetches under way are cancelled when `stack` closes."""
    store = None
    if settings.image_cache_max_bytes > 0:
        store = ImageStore(settings.state_dir / "images", settings.image_cache_max_bytes)
        try:
            await asyncio.to_thread(store.open)
        except OSError as exc:
            raise ConfigError(f"DATA_DIR: cannot use {store.directory} ({exc.strerror})") from None
    hosts = [p for p in providers if isinstance(p, ImageHost)]
    calls = GuardedCalls(guards, health, random.Random())  # noqa: S311 - retry jitter
    images = ImageService(store, hosts, calls, registry, wall=utcnow)
    stack.push_async_callback(images.aclose)
    return images
