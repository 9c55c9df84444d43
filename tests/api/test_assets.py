"""`/api/assets`, `/api/resolve` and `/api/assets/changes` in-process, in mock mode."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from cryptoagg.api.app import create_app
from cryptoagg.bootstrap import Container, build
from cryptoagg.config import load_settings
from cryptoagg.core.models import ListedAsset
from tests.api.conftest import AppClient


@asynccontextmanager
async def running(
    tmp_path: Path, **settings: Any
) -> AsyncIterator[tuple[Container, httpx.AsyncClient]]:
    """The app with its container, for tests that act on the registry directly."""
    options = {"use_mock_data": True, "data_dir": tmp_path, "collectors": False, **settings}
    app = create_app(load_settings(**options))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            yield app.state.container, client


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("ADMIN_TOKEN", "USE_MOCK_DATA", "PROVIDERS_FILE", "ENABLE_AUTO_DISCOVERY"):
        monkeypatch.delenv(key, raising=False)


async def test_search_finds_by_ticker_id_or_name_tracked_first(app_client: AppClient) -> None:
    async with app_client() as client:
        bit = (await client.get("/api/assets", params={"q": "bit", "limit": "3"})).json()
        xrp = (await client.get("/api/assets", params={"q": "XRP"})).json()
        everything = (await client.get("/api/assets", params={"limit": "250"})).json()
        too_many = await client.get("/api/assets", params={"limit": "251"})
    assert [a["id"] for a in bit["assets"]] == ["bitcoin", "wrapped-bitcoin", "bitcoin-cash"]
    assert bit["count"] == 3 and bit["query"] == "bit"
    btc = bit["assets"][0]
    assert (btc["symbol"], btc["name"], btc["rank"], btc["tracked"]) == ("BTC", "Bitcoin", 1, True)
    assert btc["provider_ids"]["kraken"] == "XBT"
    assert btc["provider_ids"]["coinpaprika"] == "btc-bitcoin"
    assert [a["id"] for a in xrp["assets"]] == ["ripple"]
    assert everything["count"] == everything["total"] >= 50
    ranks = [a["rank"] for a in everything["assets"]]
    assert ranks == sorted(ranks)
    assert too_many.status_code == 422
    assert too_many.json()["error"]["details"][0]["field"] == "query.limit"


@pytest.mark.parametrize(
    ("query", "asset_id", "matched_by", "explanation"),
    [
        ("bitcoin", "bitcoin", "id", "'bitcoin' is the asset id of Bitcoin"),
        ("btc", "bitcoin", "symbol", "'btc' is the ticker of bitcoin"),
        ("XBT", "bitcoin", "alias", "'XBT' is an alias of the ticker BTC, which names bitcoin"),
        ("Cosmos Hub", "cosmos", "name", "'Cosmos Hub' is the name of cosmos (ATOM)"),
    ],
)
async def test_resolve_explains_the_match(
    app_client: AppClient, query: str, asset_id: str, matched_by: str, explanation: str
) -> None:
    async with app_client() as client:
        response = await client.get("/api/resolve", params={"q": query})
    body = response.json()
    assert response.status_code == 200, response.text
    assert (body["asset"]["id"], body["matched_by"]) == (asset_id, matched_by)
    assert body["explanation"] == explanation
    assert body["query"] == query and body["namesakes"] == []


async def test_resolve_refuses_ambiguous_and_unknown_names_namesakes(tmp_path: Path) -> None:
    async with running(tmp_path) as (container, client):
        await container.assets.refresh()  # the simulator lists two "ausdc" assets
        container.registry.merge_listing(
            [ListedAsset(provider="coingecko", native_id="batcat", symbol="BTC", asset_id="batcat")]
        )
        ambiguous = await client.get("/api/resolve", params={"q": "AUSDC"})
        unknown = await client.get("/api/resolve", params={"q": "NOPECOINXYZ"})
        empty = await client.get("/api/resolve", params={"q": ""})
        btc = (await client.get("/api/resolve", params={"q": "BTC"})).json()
    assert ambiguous.status_code == 409
    assert ambiguous.json()["error"]["code"] == "ambiguous_symbol"
    assert ambiguous.json()["error"]["details"] == {"candidates": ["aave-usdc", "aave-usdc-v1"]}
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_asset"
    assert empty.status_code == 422
    assert btc["asset"]["id"] == "bitcoin" and btc["namesakes"] == ["batcat"]
    assert btc["explanation"] == (
        "'BTC' is the ticker of bitcoin; tracked assets win over listed namesakes (batcat)"
    )


async def test_changes_are_recorded_by_refresh_and_kept_across_restarts(tmp_path: Path) -> None:
    async with running(tmp_path, enable_auto_discovery=False) as (container, client):
        empty = (await client.get("/api/assets/changes")).json()
        report = await container.assets.refresh()
        listed = (await client.get("/api/assets/changes")).json()
    assert empty == {
        "count": 0,
        "discovery": {"enabled": False, "interval_s": 21600.0},
        "changes": [],
        "_mock": True,
    }
    assert report.changes == listed["count"] == len(report.providers) >= 3
    baselines = {c["provider"]: c for c in listed["changes"]}
    assert {c["kind"] for c in listed["changes"]} == {"baseline"}
    assert baselines["coingecko"]["after"].endswith(
        "2 new to the registry, 0 known assets linked"
    )  # the two "ausdc" assets
    async with running(tmp_path) as (_, client):
        restarted = (await client.get("/api/assets/changes")).json()
        only = await client.get(
            "/api/assets/changes", params={"provider": "coingecko", "kind": "baseline"}
        )
        bad_kind = await client.get("/api/assets/changes", params={"kind": "exploded"})
    assert restarted["changes"] == listed["changes"]
    assert [c["provider"] for c in only.json()["changes"]] == ["coingecko"]
    assert bad_kind.status_code == 422


async def test_a_refresh_by_another_process_reaches_a_running_and_a_restarted_server(
    tmp_path: Path,
) -> None:
    """`cryptoagg assets refresh` runs in a process of its own: what it finds is stored, a
    running server takes it over (its periodic sync) and a restarted one starts with it."""
    cli_settings = load_settings(use_mock_data=True, data_dir=tmp_path, collectors=False)
    async with running(tmp_path) as (server, client):
        before = await client.get("/api/resolve", params={"q": "aave-usdc"})
        async with build(cli_settings) as cli:  # the command's own process
            first = await cli.assets.refresh()
        assert first.added == 2 and {c.kind for c in first.recorded} == {"baseline"}
        assert await server.assets.sync() == 2  # what the server's periodic job runs
        after = await client.get("/api/resolve", params={"q": "aave-usdc"})
        seen = (await client.get("/api/assets/changes")).json()
    assert before.status_code == 404
    assert after.status_code == 200, after.text
    assert seen["count"] == first.changes

    async with build(cli_settings) as cli:  # run again: nothing changed, nothing recorded
        again = await cli.assets.refresh()
    assert (again.added, again.changes, again.recorded) == (0, 0, [])

    async with running(tmp_path) as (restarted, client):
        changes = (await client.get("/api/assets/changes")).json()["changes"]
        resolved = await client.get("/api/resolve", params={"q": "aave-usdc-v1"})
        later = await restarted.assets.refresh()
    assert resolved.status_code == 200, resolved.text
    assert [c["provider"] for c in changes] == first.providers[::-1]  # newest first
    for change in changes:  # every change names an asset the registry holds
        assert change["asset_id"] is None or change["asset_id"] in restarted.registry
    # the restarted server compares with the stored listings: no new baseline
    assert (later.added, later.changes) == (0, 0)
