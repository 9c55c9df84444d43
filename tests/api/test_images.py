"""`/api/images/{asset_id}` and the image URLs of every answer, in process in mock mode (the
simulator's image CDN serves generated PNGs)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from tests.api.conftest import AppClient

IMAGE = re.compile(r"^/api/images/[a-z0-9-]+$")


async def _sim_image_calls(client: httpx.AsyncClient, transport_app: Any) -> list[str]:
    sim = transport_app.state.container.upstream_base_url
    async with httpx.AsyncClient(base_url=sim) as control:
        stats = (await control.get("/_sim/stats")).json()["calls"].get("coingecko", {})
    return sorted(path for path in stats if "/images/" in path)


async def test_trending_images_are_served_from_our_origin(app_client: AppClient) -> None:
    async with app_client() as client:
        trending = (await client.get("/api/trending")).json()["trending"]
        thumbs = [coin["thumb"] for coin in trending]
        first = await client.get(thumbs[0])
        again = await client.get(thumbs[0], headers={"if-none-match": first.headers["etag"]})
    assert thumbs and all(IMAGE.match(t) for t in thumbs), thumbs
    assert [t.rsplit("/", 1)[1] for t in thumbs] == [coin["asset_id"] for coin in trending]
    # same origin: the URL resolves against the API's own address
    assert all(urlsplit(urljoin("http://app/", t)).netloc == "app" for t in thumbs)
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/png"
    assert first.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert first.headers["cache-control"] == "public, max-age=604800"
    assert "x-image-fallback" not in first.headers
    assert first.headers["x-content-type-options"] == "nosniff"
    assert again.status_code == 304 and again.content == b""


async def test_a_cached_image_is_served_without_an_upstream_call(app_client: AppClient) -> None:
    async with app_client() as client:
        app: Any = client._transport.app  # type: ignore[attr-defined]
        thumb = (await client.get("/api/trending")).json()["trending"][0]["thumb"]
        await client.get(thumb)
        fetched = await _sim_image_calls(client, app)
        for _ in range(3):
            assert (await client.get(thumb)).status_code == 200
        after = await _sim_image_calls(client, app)
    assert len(fetched) == 1
    assert after == fetched  # the same one call: the next three came from disk


async def test_no_url_a_client_sends_is_ever_fetched(app_client: AppClient) -> None:
    hostile = [
        "/api/images/https%3A%2F%2Fevil.example%2Fx.png",
        "/api/images/https:evil.example",
        "/api/images/..%2F..%2Fconfig.py",
        "/api/images/%2e%2e",
        "/api/images/bitcoin?url=https://evil.example/x.png",
        "/api/images/evil.example",
    ]
    async with app_client() as client:
        app: Any = client._transport.app  # type: ignore[attr-defined]
        answers = {url: await client.get(url) for url in hostile}
        calls = await _sim_image_calls(client, app)
    assert calls == []  # nothing was fetched, for anyone
    for url, answer in answers.items():
        assert answer.status_code in (200, 404, 422), url
        if answer.status_code == 200:  # a valid id: its icon, made here
            assert answer.headers["content-type"] == "image/svg+xml", url
            assert answer.headers["x-image-fallback"] in ("unknown_asset", "no_image"), url
            assert b"evil" not in answer.content.lower(), url


async def test_an_unknown_asset_gets_the_generic_icon(app_client: AppClient) -> None:
    async with app_client() as client:
        answer = await client.get("/api/images/no-such-coin")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/svg+xml"
    assert answer.headers["x-image-fallback"] == "unknown_asset"
    assert answer.headers["cache-control"] == "public, max-age=300"
    assert answer.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert answer.content.startswith(b"<svg") and b">?</text>" in answer.content


async def test_a_failing_provider_gives_the_icon_of_the_ticker(app_client: AppClient) -> None:
    async with app_client() as client:
        app: Any = client._transport.app  # type: ignore[attr-defined]
        coin = (await client.get("/api/trending")).json()["trending"][0]
        sim = app.state.container.upstream_base_url
        async with httpx.AsyncClient(base_url=sim) as control:
            fault = {"provider": "coingecko", "kind": "error", "status": 503}
            assert (await control.post("/_sim/faults", json=fault)).status_code == 201
            answer = await client.get(coin["thumb"])
            await control.delete("/_sim/faults")
        retried = await client.get(coin["thumb"])  # not asked again at once
        calls = await _sim_image_calls(client, app)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/svg+xml"
    assert answer.headers["x-image-fallback"] == "unavailable"
    assert f">{coin['symbol'][:4]}</text>".encode() in answer.content
    assert retried.headers["x-image-fallback"] == "unavailable"
    assert len(calls) == 1


async def test_images_can_be_turned_off(app_client: AppClient) -> None:
    async with app_client(image_cache_max_bytes=0) as client:
        app: Any = client._transport.app  # type: ignore[attr-defined]
        thumb = (await client.get("/api/trending")).json()["trending"][0]["thumb"]
        answer = await client.get(thumb)
        calls = await _sim_image_calls(client, app)
    assert answer.headers["x-image-fallback"] == "images_off"
    assert calls == []


async def test_coingecko_compatible_answers_name_our_images(app_client: AppClient) -> None:
    async with app_client() as client:
        markets = (await client.get("/api/v3/coins/markets?vs_currency=usd&per_page=3")).json()
        trending = (await client.get("/api/v3/search/trending")).json()["coins"]
        logo = await client.get(markets[0]["image"])
    assert [row["image"] for row in markets] == [f"/api/images/{row['id']}" for row in markets]
    item = trending[0]["item"]
    assert item["thumb"] == f"/api/images/{item['id']}"
    for field in ("small", "large"):
        assert item.get(field) in (None, item["thumb"])
    assert logo.status_code == 200 and logo.headers["content-type"] == "image/png"


async def test_public_url_makes_the_coingecko_image_urls_absolute(app_client: AppClient) -> None:
    async with app_client(public_url="https://agg.example/base/") as client:
        markets = (await client.get("/api/v3/coins/markets?vs_currency=usd&per_page=1")).json()
        trending = (await client.get("/api/trending")).json()["trending"]
    assert markets[0]["image"] == "https://agg.example/base/api/images/bitcoin"
    assert trending[0]["thumb"] == f"/api/images/{trending[0]['asset_id']}"  # the dashboard's
