"""Cached data is served as pre-encoded bytes with an ETag, 304s and a max-age."""

from __future__ import annotations

from starlette.requests import Request

from cryptoagg.api.http.hot import ResponseCache, request_key
from cryptoagg.storage.repositories import QueryRepository
from tests.api.conftest import AppClient


def fake_request(query: str = "", headers: dict[str, str] | None = None) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/x",
        "query_string": query.encode(),
        "headers": raw,
    }
    return Request(scope)


def test_a_body_is_built_once_per_version_and_key() -> None:
    cache = ResponseCache(max_entries=2, clock=lambda: 100.0)
    builds = []

    def build() -> dict[str, int]:
        builds.append(1)
        return {"n": len(builds)}

    first = cache.get("k", (1.0, False), build)
    again = cache.get("k", (1.0, False), build)
    assert again is first and len(builds) == 1 and first.body == b'{"n":1}'
    stale = cache.get("k", (1.0, True), build)  # served stale now: a different body
    refreshed = cache.get("k", (2.0, False), build)
    assert len(builds) == 3 and stale.etag != first.etag != refreshed.etag
    cache.get("a", 1, build)
    cache.get("b", 1, build)
    assert len(cache) == 2  # bounded: "k" went first


def test_query_order_does_not_split_the_cache() -> None:
    assert request_key(fake_request("b=2&a=1")) == request_key(fake_request("a=1&b=2"))
    assert request_key(fake_request("a=1")) != request_key(fake_request("a=2"))


def test_a_coingecko_client_key_neither_splits_the_cache_nor_is_kept() -> None:
    plain = request_key(fake_request("ids=bitcoin&vs_currencies=usd"))
    for query in (
        "ids=bitcoin&x_cg_demo_api_key=CG-one&vs_currencies=usd",
        "x_cg_pro_api_key=CG-two&vs_currencies=usd&ids=bitcoin",
    ):
        key = request_key(fake_request(query))
        assert key == plain and "CG-" not in key


def test_if_none_match_forms() -> None:
    cache = ResponseCache(clock=lambda: 0.0)
    encoded = cache.get("k", 1, lambda: {"a": 1})
    etag = encoded.etag
    for header in (etag, f"W/{etag}", f'"nope", {etag}', "*"):
        assert (
            cache.respond(fake_request(headers={"If-None-Match": header}), encoded, 5).status_code
            == 304
        )
    assert (
        cache.respond(fake_request(headers={"If-None-Match": '"nope"'}), encoded, 5).status_code
        == 200
    )


async def test_market_is_served_as_the_same_bytes_with_etag_and_max_age(
    app_client: AppClient,
) -> None:
    async with app_client(markets_ttl_s=60) as client:
        first = await client.get("/api/market", params={"limit": 5})
        second = await client.get("/api/market", params={"limit": 5})
        not_modified = await client.get(
            "/api/market", params={"limit": 5}, headers={"If-None-Match": first.headers["etag"]}
        )
        other = await client.get("/api/market", params={"limit": 6})
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert first.headers["etag"] == second.headers["etag"]
    max_age = int(first.headers["cache-control"].removeprefix("public, max-age="))
    assert 50 <= max_age <= 60
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == first.headers["etag"]
    assert len(other.json()["cryptocurrencies"]) == 6
    assert other.headers["etag"] != first.headers["etag"]


async def test_a_refresh_builds_a_new_body(app_client: AppClient) -> None:
    async with app_client(price_ttl_s=0) as client:  # every request reloads the price
        first = await client.get("/api/price/BTC")
        second = await client.get("/api/price/BTC")
    assert first.headers["cache-control"] == "public, max-age=0"
    # the simulator's price walks: a new load is a new body and a new ETag
    assert first.headers["etag"] != second.headers["etag"]


async def test_fresh_answers_skip_the_app_but_not_the_rate_limit(app_client: AppClient) -> None:
    async with app_client(markets_ttl_s=60, rate_limit_per_min=600, rate_limit_burst=5) as client:
        app = client._transport.app  # type: ignore[attr-defined]
        first = await client.get("/api/market", params={"limit": 3})
        hits_before = app.state.responses.hot_hits
        again = await client.get("/api/market", params={"limit": 3})
        revalidated = await client.get(
            "/api/market", params={"limit": 3}, headers={"If-None-Match": first.headers["etag"]}
        )
        assert app.state.responses.hot_hits == hits_before + 2
        statuses = [
            (await client.get("/api/market", params={"limit": 3})).status_code for _ in range(5)
        ]
        engine = app.state.container.engine
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    assert again.headers["x-content-type-options"] == "nosniff"  # security headers still apply
    assert revalidated.status_code == 304
    assert 429 in statuses  # the burst of 5 is spent: the hot path is behind the rate limit
    # every answered /api/market request is counted in user_queries, fast path or not
    assert QueryRepository(engine).count() == 3 + statuses.count(200)
