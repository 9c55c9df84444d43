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
    assert body["model"] == "vader-3.3.2"
    assert [r["label"] for r in body["results"]] == ["positive", "negative"]
    assert too_many.status_code == 413
    assert too_many.json()["error"]["code"] == "payload_too_large"
    assert too_long.status_code == 422 and "at most 50 characters" in too_long.text
    assert wrong_shape.status_code == 422
