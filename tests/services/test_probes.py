"""The health probe of a provider (`services/probes.py`): which call it is, and how one is
sent through the guarded call."""

from __future__ import annotations

import random

import httpx
import pytest

from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.assets import Asset, AssetRegistry
from cryptoagg.core.errors import BudgetExhausted, CircuitOpen, Unavailable, UpstreamNotFound
from cryptoagg.core.limits import Limits
from cryptoagg.core.models import Capability
from cryptoagg.providers.base import ProviderContext
from cryptoagg.providers.registry import PROVIDERS
from cryptoagg.resilience.breaker import BreakerPolicy
from cryptoagg.resilience.guard import GuardedCalls, Guards
from cryptoagg.resilience.health import HealthBook
from cryptoagg.resilience.quota import MemoryQuotaStore, QuotaLedger
from cryptoagg.services.probes import PROBE_ORDER, Answered, Refused, probe_for, send
from tests.collectors.health_support import Clocks, FakeSpot


async def test_each_provider_is_checked_through_its_cheapest_call() -> None:
    registry = seeded_registry()
    paths: list[str] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return httpx.Response(200, content=b"4962012809.795062")

    client = httpx.AsyncClient(transport=httpx.MockTransport(upstream))
    ctx = ProviderContext(client=client, registry=registry)
    probes = {cls.name: probe_for(cls(ctx), registry) for cls in PROVIDERS}
    endpoints = {name: p.endpoint if p else None for name, p in probes.items()}
    for spot in ("coingecko", "binance", "kraken", "coinbase", "coinpaprika", "coincap"):
        assert endpoints[spot] == "spot_price:bitcoin"
    assert endpoints["alternative_me"] == "fear_greed"
    # DefiLlama's own probe: one protocol's TVL, never the multi-MB /protocols listing
    assert endpoints["defillama"] == "tvl:uniswap"
    defillama = probes["defillama"]
    assert defillama is not None
    await defillama.call()
    assert paths == ["/tvl/uniswap"]
    assert endpoints["coindesk"] == "news"
    assert endpoints["cryptopanic"] == "news"


def test_an_unlisted_probe_asset_falls_back_to_the_next_capability() -> None:
    class NoBitcoin(FakeSpot):
        capabilities = frozenset({Capability.SPOT_PRICE, Capability.MARKETS})

        def supports(self, asset: Asset) -> bool:
            return False

        async def markets(self, limit: int) -> list[object]:
            return []

    probe = probe_for(NoBitcoin("x"), AssetRegistry([]))  # type: ignore[arg-type]
    assert probe is not None and probe.endpoint == "markets"


def test_every_capability_has_a_place_in_the_probe_order() -> None:
    assert sorted(PROBE_ORDER) == sorted(Capability)
    assert PROBE_ORDER[0] is Capability.SPOT_PRICE


def test_a_provider_offering_only_candles_has_no_probe() -> None:
    class CandlesOnly(FakeSpot):
        capabilities = frozenset({Capability.OHLCV})

    assert probe_for(CandlesOnly("x"), seeded_registry()) is None  # type: ignore[arg-type]


@pytest.fixture
def rig() -> tuple[FakeSpot, GuardedCalls, Guards]:
    clocks = Clocks()
    guards = Guards(
        lambda: clocks.mono,
        lambda: clocks.wall,
        QuotaLedger(MemoryQuotaStore()),
        BreakerPolicy(consecutive_failures=1, cooldown_s=30.0),
    )
    spot = FakeSpot("spot")
    guards.add(spot.name, Limits(per_minute=1))
    spot.outbound = guards
    calls = GuardedCalls(guards, HealthBook(clock=lambda: clocks.wall), random.Random(1))
    return spot, calls, guards


async def test_an_answer_and_a_caller_side_error_both_show_the_provider_up(
    rig: tuple[FakeSpot, GuardedCalls, Guards],
) -> None:
    spot, calls, _ = rig
    probe = probe_for(spot, seeded_registry())  # type: ignore[arg-type]
    assert probe is not None and probe.endpoint == "spot_price:bitcoin"
    answered = await send(calls, spot, probe, timeout_s=1.0)  # type: ignore[arg-type]
    assert isinstance(answered, Answered) and answered.ok and answered.value == []
    assert answered.latency_ms >= 0 and spot.calls == [["bitcoin"]]
    spot.error = UpstreamNotFound("spot", "HTTP 404")
    spot.outbound = None  # the budget's one call this minute is spent
    not_found = await send(calls, spot, probe, timeout_s=1.0)  # type: ignore[arg-type]
    assert isinstance(not_found, Answered) and not_found.ok and not_found.error is spot.error


async def test_a_refusal_sends_nothing(rig: tuple[FakeSpot, GuardedCalls, Guards]) -> None:
    spot, calls, guards = rig
    probe = probe_for(spot, seeded_registry())  # type: ignore[arg-type]
    assert probe is not None
    guards["spot"].budget.spend()  # its one call this minute is gone
    refused = await send(calls, spot, probe, timeout_s=1.0)  # type: ignore[arg-type]
    assert isinstance(refused, Refused) and isinstance(refused.error, BudgetExhausted)
    assert spot.calls == []
    guards["spot"].breaker.record_failure(Unavailable("spot", "HTTP 500"))  # one opens it
    held = await send(calls, spot, probe, timeout_s=1.0)  # type: ignore[arg-type]
    assert isinstance(held, Refused) and isinstance(held.error, CircuitOpen)
    assert spot.calls == []


async def test_an_adapter_bug_is_an_internal_error_not_an_upstream_verdict(
    rig: tuple[FakeSpot, GuardedCalls, Guards],
) -> None:
    spot, calls, _ = rig

    async def broken() -> object:
        return 1 / 0

    probe = probe_for(spot, seeded_registry())  # type: ignore[arg-type]
    assert probe is not None
    crashed = await send(calls, spot, type(probe)("spot_price:bitcoin", broken), 1.0)  # type: ignore[arg-type]
    assert isinstance(crashed, Answered) and not crashed.ok
    assert crashed.error is not None and crashed.error.detail == "internal: ZeroDivisionError"
