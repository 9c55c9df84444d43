"""Coin images: learned from provider answers, fetched once through the guarded call (breaker,
budget as background work), kept on disk, and the generic icon whenever none can be had."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.limits import Limits, Priority
from cryptoagg.providers.base import ProviderContext
from cryptoagg.providers.coingecko import CoinGeckoProvider
from cryptoagg.resilience.guard import GuardedCalls, Guards
from cryptoagg.resilience.health import HealthBook
from cryptoagg.resilience.quota import MemoryQuotaStore, QuotaLedger
from cryptoagg.services.images import (
    ICON_MAX_AGE_S,
    IMAGE_MAX_AGE_S,
    IMAGES_JOB,
    RETRY_AFTER_S,
    ImageService,
)
from cryptoagg.storage.images import ImageStore
from tests.support import FakeClock

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + b"\x01" * 40
THUMB = "https://coin-images.coingecko.com/coins/images/32949/standard/QubicLogo-Token.png?17"
COIN = "qubic-network"


class Cdn:
    """The image host as an httpx handler: a scripted answer, every request kept, and a gate
    that holds answers back while closed."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.status = 200
        self.body = PNG
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        await self.gate.wait()
        return httpx.Response(self.status, content=self.body)


Build = Callable[..., Awaitable[tuple[ImageService, Guards]]]


@pytest.fixture
async def build(tmp_path: Path) -> AsyncIterator[Build]:
    made: list[ImageService] = []
    clock = FakeClock()

    async def make(
        cdn: Cdn,
        *,
        limits: Limits | None = None,
        stored: bool = True,
        wait_s: float = 2.0,
        disabled: bool = False,
    ) -> tuple[ImageService, Guards]:
        guards = Guards(clock, clock.wall, QuotaLedger(MemoryQuotaStore()))
        guards.add("coingecko", limits or Limits(per_minute=600))
        registry = seeded_registry()
        client = httpx.AsyncClient(transport=httpx.MockTransport(cdn))
        context = ProviderContext(
            client=client,
            registry=registry,
            outbound=guards,
            clock=clock.wall,
            disabled_by_config=disabled,
        )
        store = None
        if stored:
            store = ImageStore(tmp_path / "images", 1_000_000)
            store.open()
        calls = GuardedCalls(guards, HealthBook(clock=clock.wall), random.Random(0))
        service = ImageService(
            store,
            [CoinGeckoProvider(context)],
            calls,
            registry,
            wall=clock.wall,
            clock=clock,
            wait_s=wait_s,
        )
        made.append(service)
        return service, guards

    make.clock = clock  # type: ignore[attr-defined]
    yield make
    for service in made:
        await service.aclose()


async def test_an_image_is_fetched_once_then_served_from_disk(build: Build) -> None:
    cdn = Cdn()
    service, _ = await build(cdn)
    service.learn(COIN, "QUBIC", THUMB)
    first = await service.image(COIN)
    second = await service.image(COIN)
    assert first.fallback is None and first.image.data == PNG
    assert first.image.media_type == "image/png" and first.max_age_s == IMAGE_MAX_AGE_S
    assert second == first
    [request] = cdn.requests
    assert request.url == httpx.URL(THUMB.split("?", maxsplit=1)[0])
    # after a restart nothing is known of the coin, and its image still comes from disk
    restarted, _ = await build(cdn)
    again = await restarted.image(COIN)
    assert again.fallback is None and again.image.data == PNG
    assert len(cdn.requests) == 1


async def test_a_fetch_spends_the_budget_as_background_work(build: Build) -> None:
    cdn = Cdn()
    service, guards = await build(cdn)
    service.learn(COIN, "QUBIC", THUMB)
    await service.image(COIN)
    budget = guards["coingecko"].budget
    assert budget.used_this_month(IMAGES_JOB) == 1
    assert budget.used_this_month() == 1  # nothing charged to clients
    assert budget.calls_this_minute() == 1


async def test_a_spent_budget_gives_the_icon_and_sends_nothing(build: Build) -> None:
    cdn = Cdn()
    service, guards = await build(cdn, limits=Limits(per_minute=600, monthly=10))
    budget = guards["coingecko"].budget
    for _ in range(8):  # the plan's target (80 %): the rest of the month is the clients'
        budget.spend(Priority.CLIENT, "client")
    service.learn(COIN, "QUBIC", THUMB)
    served = await service.image(COIN)
    assert served.fallback == "budget_exhausted"
    assert served.image.media_type == "image/svg+xml" and b">QUBI<" in served.image.data
    assert served.max_age_s == ICON_MAX_AGE_S
    assert cdn.requests == []
    assert budget.used_this_month() == 8


async def test_a_failing_provider_gives_the_icon_and_is_not_asked_again_at_once(
    build: Build,
) -> None:
    cdn = Cdn()
    cdn.status = 503
    service, guards = await build(cdn)
    service.learn(COIN, "QUBIC", THUMB)
    served = await service.image(COIN)
    assert served.fallback == "unavailable" and served.image.media_type == "image/svg+xml"
    assert (await service.image(COIN)).fallback == "unavailable"
    assert len(cdn.requests) == 1
    assert guards["coingecko"].breaker.consecutive == 1  # the breaker heard of it
    cdn.status = 200
    build.clock.advance(RETRY_AFTER_S + 1)  # type: ignore[attr-defined]
    recovered = await service.image(COIN)
    assert recovered.fallback is None and recovered.image.data == PNG
    assert len(cdn.requests) == 2


async def test_an_unknown_asset_or_a_foreign_url_fetches_nothing(build: Build) -> None:
    cdn = Cdn()
    service, _ = await build(cdn)
    unknown = await service.image("no-such-coin")
    assert unknown.fallback == "unknown_asset" and b">?<" in unknown.image.data
    for url in (
        "https://evil.example/coins/images/1/large/x.png",
        "http://169.254.169.254/latest/meta-data/",
        "https://coin-images.coingecko.com@evil.example/coins/images/1/large/x.png",
    ):
        service.learn("evil", "EVIL", url)
        served = await service.image("evil")
        assert served.fallback == "no_image" and b">EVIL<" in served.image.data
    listed = await service.image("bitcoin")  # in the registry, no image learned yet
    assert listed.fallback == "no_image" and b">BTC<" in listed.image.data
    assert cdn.requests == []


async def test_concurrent_requests_share_one_fetch(build: Build) -> None:
    cdn = Cdn()
    cdn.gate.clear()
    service, _ = await build(cdn)
    service.learn(COIN, "QUBIC", THUMB)
    waiting = [asyncio.create_task(service.image(COIN)) for _ in range(5)]
    await asyncio.sleep(0.05)
    cdn.gate.set()
    served = await asyncio.gather(*waiting)
    assert all(s.fallback is None and s.image.data == PNG for s in served)
    assert len(cdn.requests) == 1


async def test_a_slow_fetch_gives_the_icon_now_and_the_image_next_time(build: Build) -> None:
    cdn = Cdn()
    cdn.gate.clear()
    service, _ = await build(cdn, wait_s=0.05)
    service.learn(COIN, "QUBIC", THUMB)
    now = await service.image(COIN)
    assert now.fallback == "loading" and now.max_age_s == 0  # sent with no-cache
    cdn.gate.set()
    for _ in range(100):  # the fetch goes on in its own task
        if not service._loading:
            break
        await asyncio.sleep(0.01)
    later = await service.image(COIN)
    assert later.fallback is None and later.image.data == PNG
    assert len(cdn.requests) == 1


async def test_a_cancelled_request_leaves_the_fetch_running(build: Build) -> None:
    cdn = Cdn()
    cdn.gate.clear()
    service, _ = await build(cdn)
    service.learn(COIN, "QUBIC", THUMB)
    request = asyncio.create_task(service.image(COIN))
    await asyncio.sleep(0.02)
    request.cancel()  # the request deadline
    with pytest.raises(asyncio.CancelledError):
        await request
    cdn.gate.set()
    served = await service.image(COIN)
    assert served.fallback is None and len(cdn.requests) == 1


async def test_images_off_or_a_disabled_provider_fetch_nothing(build: Build) -> None:
    cdn = Cdn()
    off, _ = await build(cdn, stored=False)
    off.learn(COIN, "QUBIC", THUMB)
    assert (await off.image(COIN)).fallback == "images_off"
    disabled, _ = await build(cdn, disabled=True)
    disabled.learn(COIN, "QUBIC", THUMB)
    assert (await disabled.image(COIN)).fallback == "provider_disabled"
    assert cdn.requests == []


async def test_closing_cancels_the_fetches_under_way(build: Build) -> None:
    cdn = Cdn()
    cdn.gate.clear()
    service, _ = await build(cdn, wait_s=0.01)
    service.learn(COIN, "QUBIC", THUMB)
    assert (await service.image(COIN)).fallback == "loading"
    [task] = service._loading.values()
    await service.aclose()
    assert task.cancelled() and service._loading == {}
