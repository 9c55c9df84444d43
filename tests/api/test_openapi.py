from __future__ import annotations

from tests.api.conftest import AppClient


async def test_every_operation_is_described_and_json_answers_have_an_example_or_schema(
    app_client: AppClient,
) -> None:
    async with app_client() as client:
        spec = (await client.get("/openapi.json")).json()
    missing = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), f"{method} {path} has no one-line summary"
            if path == "/metrics" or path.startswith("/api/v3/"):
                continue  # Prometheus text; CoinGecko's own shapes (see the README)
            content = operation["responses"].get("200", {}).get("content", {})
            if "text/html" in content:  # the dashboard
                assert content["text/html"].get("example"), f"{method} {path}"
                continue
            body = content.get("application/json", {})
            if not (body.get("example") or body.get("schema", {}).get("$ref")):
                missing.append(f"{method.upper()} {path}")
    assert missing == []


async def test_examples_are_real_answers(app_client: AppClient) -> None:
    async with app_client() as client:
        spec = (await client.get("/openapi.json")).json()
        market = (await client.get("/api/market", params={"limit": 1})).json()
    example = spec["paths"]["/api/market"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["example"]
    assert set(example) == set(market) - {"_mock"}
    assert set(example["cryptocurrencies"][0]) == set(market["cryptocurrencies"][0])
