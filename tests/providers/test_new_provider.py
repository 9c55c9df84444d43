"""Adding a provider is its adapter, its simulator module, its test, its recordings (and
SOURCES.md), and nothing else: a provider defined here, in the test, takes part everywhere a
provider does, with no list edited anywhere.

`ToyProvider` (adapter) and `TOY_SIM` (simulator routes) join through the registries' hooks
(`extra_adapters`, `extra_simulated`), which add to what the package modules declare exactly
as one more module would. It then passes the shared adapter contract, its recorded shape is
generated like the others', a real server (uvicorn on a loopback port, in mock mode: the
simulator it starts serves the toy's routes too) lists it, pools it and calls it, and
`cryptoagg providers check` probes it.
The toy's ids are derived by rule (its `derived_id`), so the asset seed is not edited either.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import httpx
import orjson
import pytest
import uvicorn
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from typer.testing import CliRunner

from cryptoagg.api.app import create_app
from cryptoagg.cli import app as cli
from cryptoagg.config import load_settings
from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.assets import Asset
from cryptoagg.core.errors import NotSupported
from cryptoagg.core.limits import Limits
from cryptoagg.core.models import Capability, Quote, from_unix
from cryptoagg.providers.base import HttpProvider
from cryptoagg.providers.registry import PROVIDERS, adapters, extra_adapters
from cryptoagg.providers.shapes import Recording
from cryptoagg.sim.app import create_sim_app
from cryptoagg.sim.catalog import catalog, extra_simulated
from cryptoagg.sim.state import Routes, SimProvider, SimState, csv_param, json, price_str
from tests.providers import contract, shapes_gen

NAME = "toy"

# -- the adapter: what `providers/toy.py` would hold ------------------------------------------


class _Price(BaseModel):
    symbol: str
    usd: Decimal
    at: int | None = None


class _Body(BaseModel):
    prices: list[_Price]


def parse_prices(payload: Any, by_symbol: dict[str, Asset], now: datetime) -> list[Quote]:
    """`/v1/prices` (fixture: toy/prices.json, written by the test)."""
    return [
        Quote(
            asset_id=by_symbol[row.symbol].id,
            provider=NAME,
            price=row.usd,
            as_of=from_unix(row.at) if row.at else now,
            time_source="provider" if row.at else "received",
        )
        for row in _Body.model_validate(payload).prices
        if row.symbol in by_symbol
    ]


class ToyProvider(HttpProvider):
    name = NAME
    order = 65  # between CoinCap (60) and CryptoCompare (70)
    # none published (a test's guess)
    limits = Limits(per_minute=60)
    hosts: ClassVar[dict[str, str]] = {"": "https://api.toy.example"}
    capabilities = frozenset({Capability.SPOT_PRICE})
    docs_url = "https://docs.toy.example/prices"
    shapes = (
        Recording(
            "/v1/prices",
            "toy/prices.json",
            lambda p, s: parse_prices(p, {"BTC": s.asset("bitcoin")}, s.now),
        ),
    )

    @classmethod
    def derived_id(cls, asset: Asset) -> str | None:
        """The ticker of a tracked asset: no seed column needed."""
        return asset.symbol if asset.tracked else None

    async def spot_prices(self, assets: Sequence[Asset]) -> list[Quote]:
        by_symbol = self.native_ids(assets)
        if not by_symbol:
            raise NotSupported(NAME, "none of the assets is listed")
        payload = await self.get_json("/v1/prices", params={"symbols": ",".join(by_symbol)})
        with self.parsing("prices"):
            return parse_prices(payload, by_symbol, self.now())


# -- the simulator module: what `sim/toy.py` would hold ---------------------------------------


def toy_routes(state: SimState) -> Routes:
    by_symbol = {asset.symbol: asset for asset in state.model.assets}

    async def prices(request: Request) -> Response:
        now = state.now_s()
        rows = [
            {"symbol": s, "usd": price_str(state.price(NAME, by_symbol[s].id)), "at": int(now)}
            for s in csv_param(request, "symbols")
            if s in by_symbol
        ]
        return json({"prices": rows})

    return [(f"/{NAME}/v1/prices", prices)]


TOY_SIM = SimProvider(NAME, toy_routes)

# -- the recording: what tests/fixtures/providers/toy/prices.json would hold ------------------

RECORDING = {"prices": [{"symbol": "BTC", "usd": "50000.5", "at": 1767225600, "venue": "x"}]}


@contextmanager
def toy_joined() -> Iterator[None]:
    with extra_adapters(ToyProvider), extra_simulated(TOY_SIM):
        yield


@pytest.fixture
async def sim() -> AsyncIterator[httpx.AsyncClient]:
    with extra_simulated(TOY_SIM):
        app = create_sim_app(seed=1)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), timeout=5) as client:
        yield client


def test_it_joins_the_registry_and_the_simulator_in_its_place() -> None:
    with toy_joined():
        names = [cls.name for cls in adapters()]
        simulated = {p.name for p in catalog()}
    assert names.index("toy") == names.index("coincap") + 1
    assert "toy" in simulated
    # only inside the block: nothing registered outlives it
    assert "toy" not in [cls.name for cls in adapters()] and adapters() == PROVIDERS
    assert "toy" not in {p.name for p in catalog()}
    assert "toy" not in seeded_registry().get("bitcoin").provider_ids


def test_it_passes_the_declaration_contract() -> None:
    contract.check_declaration(ToyProvider)


async def test_it_passes_the_adapter_contract(sim: httpx.AsyncClient) -> None:
    await contract.check_capabilities(ToyProvider, sim)
    await contract.check_health_probe(ToyProvider, sim)
    for kind, extra, error in contract.FAULTS:
        await contract.check_fault(ToyProvider, sim, kind, extra, error)
    stats = (await sim.get("http://sim/_sim/stats")).json()["calls"]
    assert stats["toy"] == {"/v1/prices": 1 + len(contract.FAULTS)}


def test_its_shape_is_generated_from_its_recording(tmp_path: Path) -> None:
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "prices.json").write_bytes(orjson.dumps(RECORDING))
    shape = shapes_gen.build([ToyProvider], fixtures=tmp_path)["providers"]["toy"]["/v1/prices"]
    assert shape["fixture"] == "toy/prices.json"
    assert shape["required"] == ["$.prices", "$.prices[].symbol", "$.prices[].usd"]
    assert shape["used"] == ["$.prices[].at"]  # the venue is read by nothing
    assert shape["fields"]["$.prices[].venue"] == ["string"]


@asynccontextmanager
async def real_server(tmp_path: Path) -> AsyncIterator[str]:
    """The app under uvicorn on a loopback port, in mock mode, as a task of this loop (so it
    is built inside the hooks' block)."""
    settings = load_settings(use_mock_data=True, data_dir=tmp_path, collectors=False)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(settings), log_config=None, log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            assert not task.done(), task.result()
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def test_a_real_server_lists_pools_and_calls_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("ADMIN_TOKEN", "USE_MOCK_DATA", "PROVIDERS_FILE", "UPSTREAM_BASE_URL"):
        monkeypatch.delenv(key, raising=False)
    with toy_joined():
        async with real_server(tmp_path) as base, httpx.AsyncClient(base_url=base) as client:
            pools = {p["id"]: p for p in (await client.get("/api/pools")).json()["pools"]}
            price = (await client.get("/api/price/bitcoin")).json()
            providers = (await client.get("/api/providers")).json()["providers"]
            found = (await client.get("/api/assets", params={"q": "BTC"})).json()["assets"]
    spot = pools["spot_price"]["members"]
    assert spot.index("toy") == spot.index("coincap") + 1
    assert "toy" not in pools["markets"]["members"]
    assert "toy" in price["sources"]
    [quote] = [q for q in price["quotes"] if q["provider"] == "toy"]
    assert price["confidence"]["low"] <= quote["price"] <= price["confidence"]["high"]
    row = next(p for p in providers if p["name"] == "toy")
    assert row["capabilities"] == ["spot_price"] and row["requires_key"] is False
    assert row["state"] == "ok" and row["quota"]["used_this_month"] == 1
    btc = next(a for a in found if a["id"] == "bitcoin")
    # derived by its rule, no seed column; CryptoCompare's and Messari's are derived too
    assert btc["provider_ids"]["toy"] == btc["provider_ids"]["cryptocompare"] == "BTC"
    assert btc["provider_ids"]["messari"] == btc["provider_ids"]["coincap"] == "bitcoin"


def test_the_cli_checks_it(tmp_path: Path, restore_logging: None) -> None:
    env = {"DATA_DIR": str(tmp_path), "USE_MOCK_DATA": None, "PROVIDERS_FILE": None}
    with toy_joined():
        result = CliRunner().invoke(
            cli, ["providers", "check", "--mock", "--json", "-p", "toy"], env=env
        )
    assert result.exit_code == 0, result.output
    [row] = orjson.loads(result.stdout)
    assert (row["provider"], row["result"], row["endpoint"]) == ("toy", "ok", "spot_price:bitcoin")
