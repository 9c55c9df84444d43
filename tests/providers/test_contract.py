"""One contract over every registered provider, run against the in-process simulator:
declared capabilities are implemented and return valid values, errors are mapped, and no key
ever reaches a logged URL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import structlog
from pydantic import SecretStr

from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.errors import (
    BadResponse,
    GeoBlocked,
    NotSupported,
    RateLimited,
    Unavailable,
)
from cryptoagg.core.models import Capability, Interval
from cryptoagg.providers.base import HttpProvider, ProviderContext
from cryptoagg.providers.registry import PROVIDERS
from cryptoagg.sim.app import create_sim_app

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
KEY = "contract-test-key-9f8e7d"
IDS = [cls.name for cls in PROVIDERS]


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_sim_app(seed=1)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), timeout=5) as c:
        yield c


def build(cls: type[HttpProvider], client: httpx.AsyncClient) -> HttpProvider:
    ctx = ProviderContext(
        client=client,
        registry=seeded_registry(),
        api_key=SecretStr(KEY),
        upstream_base_url="http://sim",
    )
    return cls(ctx)


async def exercise(provider: HttpProvider, capability: Capability) -> None:
    registry = provider.ctx.registry
    btc, eth = registry.get("bitcoin"), registry.get("ethereum")
    if capability is Capability.SPOT_PRICE:
        quotes = await provider.spot_prices([btc, eth])
        assert {q.asset_id for q in quotes} <= {"bitcoin", "ethereum"}
        assert any(q.asset_id == "bitcoin" for q in quotes)
        assert all(q.price > 0 and q.as_of.tzinfo is not None for q in quotes)
    elif capability is Capability.MARKETS:
        entries = await provider.markets(20)
        assert 10 <= len(entries) <= 20
        assert entries[0].asset_id == "bitcoin"
    elif capability is Capability.OHLCV:
        start = NOW - timedelta(hours=12)
        candles = await provider.ohlcv(btc, Interval.H1, start, NOW)
        assert candles
        assert all(c.low <= min(c.open, c.close) <= max(c.open, c.close) <= c.high for c in candles)
    elif capability is Capability.TRENDING:
        assert await provider.trending()
    elif capability is Capability.FEAR_GREED:
        assert 0 <= (await provider.fear_greed()).value <= 100
    elif capability is Capability.TVL:
        overview = await provider.defi()
        assert overview.total_tvl > 0 and overview.protocols
    elif capability is Capability.NEWS:
        items = await provider.news()
        assert items and all(i.published_at.tzinfo is not None for i in items)
    elif capability is Capability.GLOBAL:
        assert (await provider.global_market()).total_market_cap_usd > 0
    elif capability is Capability.LISTING:
        assert await provider.listing()
    else:  # pragma: no cover - a new capability must be added here
        raise AssertionError(capability)


def primary(cls: type[HttpProvider]) -> Capability:
    order = [Capability.SPOT_PRICE, Capability.FEAR_GREED, Capability.TVL, Capability.NEWS]
    return next(c for c in order if c in cls.capabilities)


def test_registry_is_well_formed() -> None:
    assert len(IDS) == len(set(IDS)) >= 14
    for cls in PROVIDERS:
        assert cls.capabilities, cls.name
        assert "" in cls.hosts and all(h.startswith("https://") for h in cls.hosts.values())
        assert cls.docs_url.startswith("https://"), cls.name


@pytest.mark.parametrize("cls", PROVIDERS, ids=IDS)
async def test_capabilities_work_against_the_simulator(
    cls: type[HttpProvider], client: httpx.AsyncClient
) -> None:
    provider = build(cls, client)
    for capability in sorted(cls.capabilities):
        await exercise(provider, capability)


@pytest.mark.parametrize("cls", PROVIDERS, ids=IDS)
async def test_an_own_health_probe_works_against_the_simulator(
    cls: type[HttpProvider], client: httpx.AsyncClient
) -> None:
    provider = build(cls, client)
    if cls.health_endpoint is None:  # checked through a capability call (probe_for)
        with pytest.raises(NotSupported):
            await provider.health_probe()
        return
    assert await provider.health_probe() not in (None, [], {})


@pytest.mark.parametrize(
    ("kind", "extra", "error"),
    [
        ("error", {"status": 502}, Unavailable),
        ("ratelimit", {"retry_after_s": 120}, RateLimited),
        ("geoblock", {}, GeoBlocked),
        ("malformed", {}, BadResponse),
    ],
)
@pytest.mark.parametrize("cls", PROVIDERS, ids=IDS)
async def test_faults_are_mapped(
    cls: type[HttpProvider],
    kind: str,
    extra: dict[str, Any],
    error: type[Exception],
    client: httpx.AsyncClient,
) -> None:
    created = await client.post(
        "http://sim/_sim/faults", json={"provider": cls.name, "kind": kind, **extra}
    )
    assert created.status_code == 201, created.text
    provider = build(cls, client)
    with pytest.raises(error) as info:
        await exercise(provider, primary(cls))
    if isinstance(info.value, RateLimited):
        assert info.value.retry_after_s == 120
    assert KEY not in str(info.value)


@pytest.mark.parametrize("cls", [c for c in PROVIDERS if c.requires_key], ids=lambda c: c.name)
async def test_no_key_in_logged_urls(cls: type[HttpProvider], client: httpx.AsyncClient) -> None:
    provider = build(cls, client)
    with structlog.testing.capture_logs() as logs:
        await exercise(provider, primary(cls))
    calls = [entry for entry in logs if entry["event"] == "upstream_call"]
    assert calls
    assert all(KEY not in str(entry) for entry in logs)


@pytest.mark.parametrize("cls", [c for c in PROVIDERS if c.requires_key], ids=lambda c: c.name)
def test_keyed_providers_without_key_are_disabled(
    cls: type[HttpProvider], client: httpx.AsyncClient
) -> None:
    provider = cls(ProviderContext(client=client, registry=seeded_registry()))
    assert provider.disabled_reason == "missing key"
