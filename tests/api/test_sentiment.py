from __future__ import annotations

from tests.api.conftest import AppClient


async def test_run_sentiment(app_client: AppClient) -> None:
    async with app_client(sentiment_max_texts=2, sentiment_max_chars=50) as client:
        ok = await client.post(
            "/api/hf/run-sentiment", json={"texts": ["What a wonderful rally", "Terrible crash"]}
        )
        too_many = await client.post("/api/hf/run-sentiment", json={"texts": ["a", "b", "c"]})
        too_long = await client.post("/api/hf/run-sentiment", json={"texts": ["x" * 51]})
        wrong_shape = await client.post("/api/hf/run-sentiment", json={"text": "hello"})
    assert ok.status_code == 200
    body = ok.json()
    assert body["model"] == "market-lexicon-1+market-layer-1"
    assert [r["label"] for r in body["results"]] == ["positive", "negative"]
    # each result names what moved it: the market's "rally" (2.5) and "crash" (-3.0), VADER's
    # "wonderful" (2.7) and "Terrible" (-2.1) at half weight, later words a little less; then
    # the words the learned layer leaned on toward the label (log-odds)
    lexicon = [r["terms"][:2] for r in body["results"]]
    assert lexicon == [
        [
            {"text": "rally", "weight": 2.114, "by": "lexicon"},
            {"text": "wonderful", "weight": 1.264, "by": "lexicon"},
        ],
        [
            {"text": "crash", "weight": -2.614, "by": "lexicon"},
            {"text": "Terrible", "weight": -1.05, "by": "lexicon"},
        ],
    ]
    learned = [t for r in body["results"] for t in r["terms"][2:]]
    assert learned and all(t["weight"] > 0 and t["by"] == "layer" for t in learned)
    assert {t["text"] for t in learned} <= {"what", "a", "wonderful", "rally", "terrible", "crash"}
    assert too_many.status_code == 413
    assert too_many.json()["error"]["code"] == "payload_too_large"
    assert too_long.status_code == 422 and "at most 50 characters" in too_long.text
    assert wrong_shape.status_code == 422


async def test_a_client_over_its_character_budget_gets_429(app_client: AppClient) -> None:
    settings = {"sentiment_client_chars_per_min": 60, "sentiment_client_burst_chars": 100}
    async with app_client(**settings) as client:
        ok = await client.post("/api/hf/run-sentiment", json={"texts": ["Bitcoin up " * 9]})
        over = await client.post("/api/hf/run-sentiment", json={"texts": ["Bitcoin down"]})
    assert ok.status_code == 200, ok.text
    assert over.status_code == 429
    error = over.json()["error"]
    assert error["code"] == "cost_budget_exceeded"
    assert "60 characters per minute" in error["message"]
    # 99 characters spent of a 100-character burst: 12 more fit after 11 s at 1 per second
    # (less the time the first request took)
    assert 9 <= int(over.headers["retry-after"]) <= 11
    assert error["details"] == {"retry_after_s": int(over.headers["retry-after"])}


async def test_behind_a_trusted_proxy_each_client_has_its_own_budget(
    app_client: AppClient,
) -> None:
    settings = {
        "sentiment_client_chars_per_min": 60,
        "sentiment_client_burst_chars": 100,
        "trusted_proxies": "127.0.0.1",  # the in-process transport's peer address
    }
    texts = {"texts": ["Bitcoin up " * 9]}  # 99 characters: one request spends the burst
    async with app_client(**settings) as client:
        first = [
            await client.post(
                "/api/hf/run-sentiment", json=texts, headers={"x-forwarded-for": address}
            )
            for address in ("203.0.113.7", "198.51.100.9")
        ]
        again = await client.post(
            "/api/hf/run-sentiment", json=texts, headers={"x-forwarded-for": "203.0.113.7"}
        )
    assert [r.status_code for r in first] == [200, 200]
    assert again.status_code == 429
