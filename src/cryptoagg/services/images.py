"""Coin images from our own origin (`GET /api/images/{asset_id}`): a browser never asks a
third-party host for a logo.

- **Where an image comes from is learned** from provider answers (`learn`: the trending coins'
  thumbnails, the markets listing's logos), as a path on the provider's own image host
  (`ImageHost.image_path` refuses any other URL). A client names an asset, never a URL, so
  nothing a client sends is ever fetched.
- **Fetched once, through the guarded call** (`GuardedCalls`: breaker, budget spent when the
  request leaves, outcome in the provider's health) as background work of the job `images`:
  it waits behind client requests and keeps off their reserve, so logos never cost a client
  its data. Concurrent requests for one image share one fetch, in a task of its own (a
  cancelled request neither cancels nor poisons it); the image is kept on disk
  (`storage/images.py`: size cap, least recently used out).
- **Otherwise the generic icon** (`core/images.py::monogram`): when the fetch takes longer
  than WAIT_S (sent with `no-cache`, so the coin's own image replaces it on the next look),
  and, cached for ICON_MAX_AGE_S, when no image can be had: an unknown asset, no known source,
  the provider disabled, failing or out of budget, images turned off. A failed fetch is not
  tried again for RETRY_AFTER_S (or the refusal's own Retry-After).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from cryptoagg.core.assets import AssetRegistry
from cryptoagg.core.errors import ProviderError
from cryptoagg.core.images import Image, monogram
from cryptoagg.core.limits import Priority
from cryptoagg.core.ports import ImageHost
from cryptoagg.resilience.guard import GuardedCalls
from cryptoagg.resilience.retry import Deadline
from cryptoagg.resilience.scope import background
from cryptoagg.storage.images import ImageStore

log = structlog.get_logger("cryptoagg.images")

#: the ledger's name for image fetches
IMAGES_JOB = "images"
#: how long a request waits for a fetch before it gets the generic icon
WAIT_S = 1.0
#: a fetch may wait this long for its budget (behind client requests) and its answer
FETCH_DEADLINE_S = 30.0
#: a failed fetch is not tried again for this long
RETRY_AFTER_S = 300.0
#: how long a browser may keep a coin's own image (the URL names the asset, not a version)
IMAGE_MAX_AGE_S = 7 * 86400
#: how long a browser may keep the generic icon standing in for one
ICON_MAX_AGE_S = 300
#: assets whose source and ticker are remembered (the most recently learned)
KNOWN_MAX = 5000


@dataclass(frozen=True, slots=True)
class Source:
    host: ImageHost
    path: str


@dataclass(frozen=True, slots=True)
class _Known:
    symbol: str | None
    source: Source | None


@dataclass(frozen=True, slots=True)
class ServedImage:
    image: Image
    #: why the generic icon stands in (None: the coin's own image)
    fallback: str | None
    #: how long a client may keep it (0: revalidate every time)
    max_age_s: int


class ImageService:
    def __init__(
        self,
        store: ImageStore | None,
        hosts: Sequence[ImageHost],
        calls: GuardedCalls,
        registry: AssetRegistry,
        *,
        wall: Callable[[], datetime],
        clock: Callable[[], float] = time.monotonic,
        wait_s: float = WAIT_S,
    ) -> None:
        """`store` None: images are off (IMAGE_CACHE_MAX_BYTES=0), every asset gets its icon."""
        self.store = store
        self.hosts = list(hosts)
        self.calls = calls
        self.registry = registry
        self.wall = wall
        self.clock = clock
        self.wait_s = wait_s
        self._known: OrderedDict[str, _Known] = OrderedDict()
        self._loading: dict[str, asyncio.Task[Image]] = {}
        #: asset -> (when it may be tried again, why it failed)
        self._failed: OrderedDict[str, tuple[float, str]] = OrderedDict()

    # -- learning --------------------------------------------------------------------------

    def learn(self, asset_id: str, symbol: str | None, url: str | None) -> None:
        """A provider's answer named `url` as the asset's image (and `symbol` as its ticker);
        a URL on no known image host is ignored, a missing one forgets nothing."""
        source = self._source_of(url) if url else None
        before = self._known.pop(asset_id, None)
        if before is not None:
            source = source or before.source
            symbol = symbol or before.symbol
        self._known[asset_id] = _Known(symbol, source)
        while len(self._known) > KNOWN_MAX:
            self._known.popitem(last=False)

    def _source_of(self, url: str) -> Source | None:
        for host in self.hosts:
            path = host.image_path(url)
            if path is not None:
                return Source(host, path)
        return None

    def source(self, asset_id: str) -> Source | None:
        known = self._known.get(asset_id)
        return known.source if known else None

    # -- serving ---------------------------------------------------------------------------

    async def image(self, asset_id: str) -> ServedImage:
        """The asset's own image (from disk, else fetched), or its generic icon."""
        store = self.store
        if store is None:
            return self._icon(asset_id, "images_off")
        stored = await asyncio.to_thread(store.get, asset_id)
        if stored is not None:
            return ServedImage(stored, None, IMAGE_MAX_AGE_S)
        source = self.source(asset_id)
        if source is None:
            known = asset_id in self._known or asset_id in self.registry
            return self._icon(asset_id, "no_image" if known else "unknown_asset")
        failed = self._failed.get(asset_id)
        if failed is not None and failed[0] > self.clock():
            return self._icon(asset_id, failed[1])
        if source.host.disabled_reason is not None:
            return self._icon(asset_id, "provider_disabled")
        task = self._loading.get(asset_id) or self._start(asset_id, source, store)
        try:
            async with asyncio.timeout(self.wait_s):
                image = await asyncio.shield(task)
        except TimeoutError:
            return self._icon(asset_id, "loading", max_age_s=0)
        except ProviderError as exc:
            return self._icon(asset_id, exc.reason)
        return ServedImage(image, None, IMAGE_MAX_AGE_S)

    def _icon(self, asset_id: str, reason: str, max_age_s: int = ICON_MAX_AGE_S) -> ServedImage:
        known = self._known.get(asset_id)
        symbol = known.symbol if known else None
        if symbol is None and asset_id in self.registry:
            symbol = self.registry.get(asset_id).symbol
        if symbol is None and known is None:  # unknown: a grey question mark
            return ServedImage(monogram(None, None), reason, max_age_s)
        return ServedImage(monogram(symbol or asset_id, asset_id), reason, max_age_s)

    # -- fetching --------------------------------------------------------------------------

    def _start(self, asset_id: str, source: Source, store: ImageStore) -> asyncio.Task[Image]:
        task = asyncio.create_task(self._fetch(asset_id, source, store), name="image-fetch")
        self._loading[asset_id] = task
        task.add_done_callback(lambda done: self._done(asset_id, done))
        return task

    async def _fetch(self, asset_id: str, source: Source, store: ImageStore) -> Image:
        host = source.host
        with background(IMAGES_JOB, Priority.PROBE, self.wall()):
            image = await self.calls.call(
                host.name,
                lambda: host.image(source.path),
                deadline=Deadline.after(FETCH_DEADLINE_S, self.clock),
            )
        try:
            await asyncio.to_thread(store.put, asset_id, image)
        except OSError as exc:  # served anyway; the next request fetches it again
            log.warning("image_not_stored", asset=asset_id, error=str(exc))
        return image

    def _done(self, asset_id: str, task: asyncio.Task[Image]) -> None:
        self._loading.pop(asset_id, None)
        if task.cancelled():
            return
        error = task.exception()  # retrieved here, so a fetch nobody awaited logs no warning
        if error is None:
            self._failed.pop(asset_id, None)
            return
        if isinstance(error, ProviderError):
            reason, retry_s = error.reason, getattr(error, "retry_after_s", None)
            log.info("image_fetch_failed", asset=asset_id, reason=reason, error=error.detail)
        else:
            reason, retry_s = "error", None
            log.error("image_fetch_crashed", asset=asset_id, exc_info=error)
        wait = min(RETRY_AFTER_S, retry_s) if retry_s else RETRY_AFTER_S
        self._failed[asset_id] = (self.clock() + wait, reason)
        self._failed.move_to_end(asset_id)
        while len(self._failed) > KNOWN_MAX:
            self._failed.popitem(last=False)

    async def aclose(self) -> None:
        """Cancel the fetches under way (shutdown)."""
        tasks = list(self._loading.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
