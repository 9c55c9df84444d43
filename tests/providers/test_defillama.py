from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest

from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.errors import BadResponse, Unavailable
from cryptoagg.providers.base import ProviderContext
from cryptoagg.providers.defillama import (
    TOP,
    DefiLlamaProvider,
    overview,
    parse_chains,
    parse_historical_tvl,
    parse_protocol_tvl,
    parse_protocols,
)
from tests.providers.support import NOW, Recorder, fixture_bytes, make, replay, respond

ROUTES = {"/protocols": "defillama/protocols.json", "/v2/chains": "defillama/v2_chains.json"}


def load(name: str) -> Any:
    return orjson.loads(fixture_bytes(f"defillama/{name}"))


def by_path(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=fixture_bytes(ROUTES[request.url.path]))


def build(handler: Any) -> DefiLlamaProvider:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    ctx = ProviderContext(client=client, registry=seeded_registry(), clock=lambda: NOW)
    return DefiLlamaProvider(ctx)


async def test_defi_combines_protocols_and_chains() -> None:
    rec = Recorder(by_path)
    provider = make(DefiLlamaProvider, rec)
    data = await provider.defi()
    assert data.total_tvl == Decimal("4815892.656507085")
    [protocol] = data.protocols
    assert (protocol.name, protocol.slug, protocol.category) == (
        "Binance CEX",
        "binance-cex",
        "CEX",
    )
    assert protocol.tvl == Decimal("115594281982.37428")
    assert protocol.change_1d_pct == Decimal("-1.4703264587864595")
    assert protocol.chains[:3] == ("Bitcoin", "Ethereum", "Binance")
    assert len(protocol.chains) == 17
    [chain] = data.chains
    assert (chain.name, chain.tvl, chain.token_symbol) == (
        "Harmony",
        Decimal("4815892.656507085"),
        "ONE",
    )
    assert data.as_of == NOW
    assert data.provider == "defillama"
    assert {r.url.host for r in rec.requests} == {"api.llama.fi"}
    assert sorted(r.url.path for r in rec.requests) == ["/protocols", "/v2/chains"]
    assert all(not r.url.query for r in rec.requests)


async def test_defi_runs_both_calls_at_once() -> None:
    seen: list[str] = []
    both_in_flight = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if len(seen) == 2:
            both_in_flight.set()
        # a sequential implementation would never reach the second request
        await asyncio.wait_for(both_in_flight.wait(), timeout=2)
        return by_path(request)

    data = await build(handler).defi()
    assert sorted(seen) == ["/protocols", "/v2/chains"]
    assert data.chains[0].name == "Harmony"


async def test_a_failed_call_cancels_the_other() -> None:
    cancelled = asyncio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/chains":
            return httpx.Response(502)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return by_path(request)

    with pytest.raises(Unavailable):
        await build(handler).defi()
    await asyncio.wait_for(cancelled.wait(), timeout=2)


def test_protocols_are_sorted_trimmed_and_null_tvl_skipped() -> None:
    base = load("protocols.json")[0]
    rows = [{**base, "name": f"P{i}", "slug": f"p{i}", "tvl": float(i)} for i in range(1, 26)]
    rows.append({**base, "name": "No TVL", "slug": "no-tvl", "tvl": None})
    chains = [{"name": f"C{i}", "tvl": float(i), "tokenSymbol": None} for i in range(1, 24)]
    protocols = parse_protocols(rows)
    assert len(protocols) == 25 and "no-tvl" not in {p.slug for p in protocols}
    data = overview(protocols, parse_chains(chains), NOW)
    assert len(data.protocols) == len(data.chains) == TOP
    assert [p.slug for p in data.protocols[:3]] == ["p25", "p24", "p23"]
    assert data.chains[0].name == "C23" and data.chains[-1].name == "C4"
    # the total counts every chain, not only the ones kept
    assert data.total_tvl == Decimal(sum(range(1, 24)))


def test_parse_historical_tvl() -> None:
    assert parse_historical_tvl(load("v2_historicalChainTvl.json")) == [
        (datetime(2018, 6, 29, tzinfo=UTC), Decimal("20541.94079040033"))
    ]
    assert parse_historical_tvl(load("v2_historicalChainTvl_karura.json")) == [
        (datetime(2021, 8, 11, tzinfo=UTC), Decimal("43936159.24741249"))
    ]


def test_parse_protocol_tvl_reads_a_bare_number() -> None:
    assert parse_protocol_tvl(load("tvl_protocol.json")) == Decimal("4962012809.795062")
    with pytest.raises(TypeError):
        parse_protocol_tvl({"message": "Protocol is not in our database"})
    with pytest.raises(TypeError):
        parse_protocol_tvl(True)


async def test_error_object_with_http_200_is_a_bad_response() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/protocols":
            return httpx.Response(200, json={"message": "Internal server error"})
        return by_path(request)

    with pytest.raises(BadResponse):
        await make(DefiLlamaProvider, handler).defi()


async def test_the_health_probe_reads_one_protocols_tvl_not_the_listings() -> None:
    rec = Recorder(replay("defillama/tvl_protocol.json"))
    provider = make(DefiLlamaProvider, rec)
    assert provider.health_endpoint == "tvl:uniswap"
    assert await provider.health_probe() == Decimal("4962012809.795062")
    [request] = rec.requests
    assert (request.url.host, request.url.path, request.url.query) == (
        "api.llama.fi",
        "/tvl/uniswap",
        b"",
    )


@pytest.mark.parametrize(
    "body", [b'{"message": "Protocol is not in our database"}', b"[]", b"true", b'"1.5"']
)
async def test_a_health_probe_answer_that_is_not_a_number_is_a_bad_response(body: bytes) -> None:
    with pytest.raises(BadResponse):
        await make(DefiLlamaProvider, respond(body)).health_probe()
