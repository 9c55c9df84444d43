"""`/api/news` and the news part of `/api/sentiment`, in-process in mock mode, after one
run of the news collector against the simulator's feeds."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from cryptoagg.bootstrap.container import Container
from cryptoagg.collectors.news import NewsCollector
from cryptoagg.services.news import NewsService
from cryptoagg.storage.news import NewsRepository
from tests.api.test_assets import running


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("ADMIN_TOKEN", "USE_MOCK_DATA", "PROVIDERS_FILE", "SENTIMENT_BACKEND"):
        monkeypatch.delenv(key, raising=False)


def collector(container: Container) -> NewsCollector:
    repo = NewsRepository(container.engine)
    return NewsCollector(NewsService(container.market.ctx), repo, None, container.registry)


async def test_news_newest_first_linked_to_assets_with_sources(tmp_path: Path) -> None:
    async with running(tmp_path) as (container, client):
        empty = (await client.get("/api/news")).json()
        stored = await collector(container)()
        everything = (await client.get("/api/news", params={"limit": "100"})).json()
        latest = (await client.get("/api/news", params={"limit": "5"})).json()
        linked = sorted({a for item in everything["news"] for a in item["assets"]})
        asset_id = linked[0]
        by_id = (await client.get("/api/news", params={"symbol": asset_id})).json()
        ticker = (await client.get("/api/resolve", params={"q": asset_id})).json()["asset"]
        by_ticker = (await client.get("/api/news", params={"symbol": ticker["symbol"]})).json()
        by_alias = (await client.get("/api/news", params={"symbol": "XBT"})).json()
        unknown = await client.get("/api/news", params={"symbol": "NOSUCHCOIN"})
    assert empty["count"] == 0 and empty["news"] == []
    assert stored > 5 and linked
    assert everything["count"] == min(stored, 100)
    assert everything["sentiment_model"].startswith("market")
    times = [datetime.fromisoformat(i["published_at"]) for i in everything["news"]]
    assert times == sorted(times, reverse=True)
    assert latest["news"] == everything["news"][:5]
    item = everything["news"][0]
    assert item["sentiment_label"] in ("positive", "negative", "neutral")
    assert -1 <= item["sentiment_score"] <= 1
    assert {i["provider"] for i in everything["news"]} >= {"cryptopanic", "coindesk"}
    # every item is its own first source; RSS items (no tags) are linked by their titles
    for i in everything["news"]:
        assert i["sources"][0] == {
            "source": i["source"],
            "provider": i["provider"],
            "url": i["url"],
            "published_at": i["published_at"],
            "matched_by": "first",
        }
    rss = [i for i in everything["news"] if i["provider"] != "cryptopanic"]
    assert rss and all(i["assets"] for i in rss)  # each simulated headline names its asset
    assert by_id["asset_id"] == asset_id and by_id["count"] >= 1
    assert by_id["news"] == [i for i in everything["news"] if asset_id in i["assets"]][:20]
    assert (by_ticker["asset_id"], by_ticker["news"]) == (asset_id, by_id["news"])
    assert (by_alias["symbol"], by_alias["asset_id"]) == ("BTC", "bitcoin")
    assert all("bitcoin" in i["assets"] for i in by_alias["news"])
    assert unknown.status_code == 404


async def test_news_sentiment_overall_and_per_asset(tmp_path: Path) -> None:
    async with running(tmp_path) as (container, client):
        await collector(container)()
        listed = (await client.get("/api/news", params={"limit": "100"})).json()["news"]
        board = (await client.get("/api/news/sentiment")).json()
        top = board["assets"][0]
        one = (await client.get("/api/news/sentiment", params={"symbol": top["symbol"]})).json()
        with_asset = (await client.get("/api/sentiment", params={"symbol": top["asset_id"]})).json()
    assert board["model"].startswith("market")
    assert board["overall"]["7d"]["items"] == len(listed)
    counts = {}
    for i in listed:
        for a in i["assets"]:
            counts[a] = counts.get(a, 0) + 1
    assert [(a["asset_id"], a["7d"]["items"]) for a in board["assets"]] == sorted(
        counts.items(), key=lambda kv: (-kv[1], kv[0])
    )
    [asset] = one["assets"]
    behind = [i for i in listed if top["asset_id"] in i["assets"]]

    def counted(window: dict[str, object]) -> dict[str, object]:
        return {k: v for k, v in window.items() if k != "since"}  # `since` is "now - 7 d"

    assert asset["asset_id"] == top["asset_id"] and counted(asset["7d"]) == counted(top["7d"])
    assert [n["url"] for n in asset["news"]] == [i["url"] for i in behind][:20]
    labels = {}
    for i in behind:
        labels[i["sentiment_label"]] = labels.get(i["sentiment_label"], 0) + 1
    assert asset["7d"]["labels"] == dict(sorted(labels.items()))
    mean = sum(i["sentiment_score"] for i in behind) / len(behind)
    assert asset["7d"]["mean_score"] == pytest.approx(mean, abs=1e-4)
    assert counted(with_asset["asset"]["7d"]) == counted(asset["7d"])
    assert with_asset["news"]["window_h"] == 24


async def test_sentiment_includes_the_news_summary(tmp_path: Path) -> None:
    async with running(tmp_path) as (container, client):
        before = (await client.get("/api/sentiment")).json()
        await collector(container)()
        after = (await client.get("/api/sentiment")).json()
        listed = (await client.get("/api/news", params={"limit": "100"})).json()
    assert before["news"]["items"] == 0 and before["news"]["mean_score"] is None
    assert "value" in after["fear_greed"]
    summary = after["news"]
    assert summary["window_h"] == 24 and summary["model"].startswith("market")
    assert summary["items"] == summary["scored"] == sum(summary["labels"].values())
    assert summary["items"] > 0
    recent = [
        i
        for i in listed["news"]
        if datetime.fromisoformat(i["published_at"]) >= datetime.fromisoformat(summary["since"])
    ]
    assert summary["labels"] == {
        label: n
        for label in ("negative", "neutral", "positive")
        if (n := sum(i["sentiment_label"] == label for i in recent))
    }
    mean = sum(i["sentiment_score"] for i in recent) / len(recent)
    assert summary["mean_score"] == pytest.approx(mean, abs=1e-4)


async def test_bad_news_queries_are_422(tmp_path: Path) -> None:
    async with running(tmp_path) as (_, client):
        big = await client.get("/api/news", params={"limit": "101"})
        odd = await client.get("/api/news", params={"symbol": "BTC;DROP"})
    assert big.status_code == 422 and big.json()["error"]["code"] == "invalid_input"
    assert odd.status_code == 422
    assert odd.json()["error"]["details"][0]["field"] == "query.symbol"


async def scored(client: httpx.AsyncClient, texts: list[str]) -> list[dict[str, Any]]:
    """`texts` scored through the API, 32 a request (SENTIMENT_MAX_TEXTS)."""
    results: list[dict[str, Any]] = []
    for at in range(0, len(texts), 32):
        answer = await client.post("/api/hf/run-sentiment", json={"texts": texts[at : at + 32]})
        results += answer.json()["results"]
    return results


async def test_each_item_says_what_moved_it_and_another_backend_scores_it_again(
    tmp_path: Path,
) -> None:
    async with running(tmp_path) as (container, client):
        await collector(container)()
        market = (await client.get("/api/news", params={"limit": "100"})).json()
        titles = [i["title"] for i in market["news"]]
        direct = await scored(client, titles)
    # what is stored and served is what scoring the title gives: label, score and terms
    assert [
        (i["sentiment_label"], i["sentiment_score"], i["sentiment_terms"]) for i in market["news"]
    ] == [(r["label"], r["score"], r["terms"]) for r in direct]
    assert any(i["sentiment_terms"] for i in market["news"])

    # the same database under another backend: every item is scored again by it
    async with running(tmp_path, sentiment_backend="vader") as (_, client):
        vader = (await client.get("/api/news", params={"limit": "100"})).json()
        summary = (await client.get("/api/sentiment")).json()["news"]
        direct = await scored(client, titles)
    assert vader["sentiment_model"] == summary["model"] != market["sentiment_model"]
    assert [(i["sentiment_label"], i["sentiment_score"]) for i in vader["news"]] == [
        (r["label"], r["score"]) for r in direct
    ]
    assert summary["items"] == summary["scored"]  # none left counted under the old model
