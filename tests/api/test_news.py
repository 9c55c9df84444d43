"""`/api/news` and the news part of `/api/sentiment`, in-process in mock mode, after one
run of the news collector against the simulator's feeds."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from cryptoagg.collectors.news import NewsCollector
from cryptoagg.services.news import NewsService
from cryptoagg.storage.news import NewsRepository
from tests.api.test_assets import running


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("ADMIN_TOKEN", "USE_MOCK_DATA", "PROVIDERS_FILE", "SENTIMENT_BACKEND"):
        monkeypatch.delenv(key, raising=False)


async def test_news_newest_first_with_sentiment_and_by_symbol(tmp_path: Path) -> None:
    async with running(tmp_path) as (container, client):
        empty = (await client.get("/api/news")).json()
        collect = NewsCollector(NewsService(container.market.ctx), NewsRepository(container.engine))
        stored = await collect()
        everything = (await client.get("/api/news", params={"limit": "100"})).json()
        latest = (await client.get("/api/news", params={"limit": "5"})).json()
        tagged = {t for item in everything["news"] for t in item["currencies"]}
        ticker = sorted(tagged)[0]
        by_ticker = (await client.get("/api/news", params={"symbol": ticker})).json()
        asset_id = (await client.get("/api/resolve", params={"q": ticker})).json()["asset"]["id"]
        by_id = (await client.get("/api/news", params={"symbol": asset_id})).json()
        by_alias = (await client.get("/api/news", params={"symbol": "XBT"})).json()
    assert empty["count"] == 0 and empty["news"] == []
    assert stored > 5 and tagged
    assert everything["count"] == min(stored, 100)
    assert everything["sentiment_model"].startswith("vader")
    times = [datetime.fromisoformat(i["published_at"]) for i in everything["news"]]
    assert times == sorted(times, reverse=True)
    assert latest["news"] == everything["news"][:5]
    item = everything["news"][0]
    assert item["sentiment_label"] in ("positive", "negative", "neutral")
    assert -1 <= item["sentiment_score"] <= 1
    assert {i["provider"] for i in everything["news"]} >= {"cryptopanic", "coindesk"}
    assert by_ticker["symbol"] == ticker and by_ticker["count"] >= 1
    assert all(ticker in i["currencies"] for i in by_ticker["news"])
    assert len(by_ticker["news"]) == sum(ticker in i["currencies"] for i in everything["news"])
    # an asset id filters by its ticker; an alias by the ticker it stands for
    assert (by_id["symbol"], by_id["asset_id"]) == (ticker, asset_id)
    assert by_id["news"] == by_ticker["news"]
    assert (by_alias["symbol"], by_alias["asset_id"]) == ("BTC", "bitcoin")
    assert all("BTC" in i["currencies"] for i in by_alias["news"])


async def test_sentiment_includes_the_news_summary(tmp_path: Path) -> None:
    async with running(tmp_path) as (container, client):
        before = (await client.get("/api/sentiment")).json()
        collect = NewsCollector(NewsService(container.market.ctx), NewsRepository(container.engine))
        await collect()
        after = (await client.get("/api/sentiment")).json()
        listed = (await client.get("/api/news", params={"limit": "100"})).json()
    assert before["news"]["items"] == 0 and before["news"]["mean_score"] is None
    assert "value" in after["fear_greed"]
    summary = after["news"]
    assert summary["window_h"] == 24 and summary["model"].startswith("vader")
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
