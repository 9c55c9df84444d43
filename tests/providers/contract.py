"""The adapter contract, as checks any adapter class can be put through: the registered ones
(`test_contract.py`) and a provider defined in a test (`test_new_provider.py`).

Each check runs the adapter against a simulator (an `httpx.AsyncClient` on its app, base URL
`http://sim`): declared capabilities are implemented and return valid values, its own health
probe answers, simulated faults map to the error tree, no key reaches a logged URL, and a keyed
provider without its key is disabled.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import structlog
from pydantic import SecretStr

from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.errors import BadResponse, GeoBlocked, NotSupported, RateLimited, Unavailable
from cryptoagg.core.limits import Limits
from cryptoagg.core.models import Capability, Interval
from cryptoagg.core.ports import Provider
from cryptoagg.providers.base import HttpProvider, ProviderContext

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
KEY = "contract-test-key-9f8e7d"
#: (fault kind, its options, the error it must become)
FAULTS: list[tuple[str, dict[str, Any], type[Exception]]] = [
    ("error", {"status": 502}, Unavailable),
    ("ratelimit", {"retry_after_s": 120}, RateLimited),
    ("geoblock", {}, GeoBlocked),
    ("malformed", {}, BadResponse),
]


def build(
    cls: type[HttpProvider], client: httpx.AsyncClient, key: str | None = KEY
) -> HttpProvider:
    ctx = ProviderContext(
        client=client,
        registry=seeded_registry(),
        api_key=SecretStr(key) if key else None,
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


def check_declaration(cls: type[HttpProvider]) -> None:
    """The class describes itself fully, and implements exactly what it declares."""
    assert cls.capabilities, cls.name
    assert isinstance(cls.order, int) and isinstance(cls.limits, Limits)
    assert "" in cls.hosts and all(h.startswith("https://") for h in cls.hosts.values())
    assert cls.docs_url.startswith("https://"), cls.name
    assert cls.uses_key or not cls.requires_key
    assert cls.key_variable() == f"{cls.name.upper()}_API_KEY"
    implemented = {
        c for c in Capability if getattr(cls, c.method) is not getattr(Provider, c.method)
    }
    assert implemented == cls.capabilities, cls.name


async def check_capabilities(cls: type[HttpProvider], client: httpx.AsyncClient) -> None:
    provider = build(cls, client)
    for capability in sorted(cls.capabilities):
        await exercise(provider, capability)


async def check_health_probe(cls: type[HttpProvider], client: httpx.AsyncClient) -> None:
    provider = build(cls, client)
    if cls.health_endpoint is None:  # checked through a capability call (probe_for)
        with pytest.raises(NotSupported):
            await provider.health_probe()
        return
    assert await provider.health_probe() not in (None, [], {})


async def check_fault(
    cls: type[HttpProvider],
    client: httpx.AsyncClient,
    kind: str,
    extra: dict[str, Any],
    error: type[Exception],
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
    await client.delete("http://sim/_sim/faults", params={"provider": cls.name})


async def check_no_key_in_logged_urls(cls: type[HttpProvider], client: httpx.AsyncClient) -> None:
    provider = build(cls, client)
    # debug events pass whatever level an earlier test (a CLI command) configured
    config = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with structlog.testing.capture_logs() as logs:
            await exercise(provider, primary(cls))
    finally:
        structlog.configure(**config)
    calls = [entry for entry in logs if entry["event"] == "upstream_call"]
    assert calls
    assert all(KEY not in str(entry) for entry in logs)


def check_disabled_without_key(cls: type[HttpProvider], client: httpx.AsyncClient) -> None:
    assert build(cls, client, key=None).disabled_reason == "missing key"
