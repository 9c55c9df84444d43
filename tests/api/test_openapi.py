from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema_rs

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
            if _serves_images(content):  # /api/images: binary, one entry per image type
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


# --- the document says what the routes accept and answer ---------------------------------


async def _spec(app_client: AppClient, **settings: Any) -> dict[str, Any]:
    async with app_client(**settings) as client:
        spec: dict[str, Any] = (await client.get("/openapi.json")).json()
    return spec


def _validator(spec: dict[str, Any], schema: dict[str, Any]) -> jsonschema_rs.Validator:
    return jsonschema_rs.Draft202012Validator({**schema, "components": spec["components"]})


async def test_every_json_answer_has_a_schema_its_example_fits(app_client: AppClient) -> None:
    spec = await _spec(app_client)
    checked = 0
    for method, path, operation in _operations(spec):
        for status, response in operation["responses"].items():
            body = response.get("content", {}).get("application/json")
            if body is None:
                continue
            assert body.get("schema"), f"{method} {path} {status} has no schema"
            example = body.get("example")
            if example is not None:
                errors = [e.message for e in _validator(spec, body["schema"]).iter_errors(example)]
                assert errors == [], f"{method} {path} {status}: {errors}"
                checked += 1
        ok = operation["responses"]["200"].get("content", {})
        if path not in ("/", "/metrics") and not _serves_images(ok):
            assert "application/json" in ok, path
    assert checked > 30


async def test_errors_every_route_can_answer_are_documented(app_client: AppClient) -> None:
    spec = await _spec(app_client)
    paths = spec["paths"]
    expected = {
        ("get", "/api/market"): {"404", "409", "422"},
        ("get", "/api/market/history"): {"404", "409", "422"},
        ("get", "/api/price/{symbol}"): {"404", "409", "422"},
        ("get", "/api/prices"): {"404", "409", "422"},
        ("get", "/api/crypto/history/{symbol}"): {"404", "409", "422"},
        ("get", "/api/pools/{pool_id}/rotations"): {"404", "422"},
        ("post", "/api/pools/{pool_id}/rotate"): {"403", "404", "422"},
        ("post", "/api/hf/run-sentiment"): {"400", "413", "422", "429", "503"},
    }
    for (method, path), statuses in expected.items():
        assert statuses <= set(paths[path][method]["responses"]), (method, path)
    for method, path, operation in _operations(spec):
        responses = operation["responses"]
        assert {"414", "431", "504"} <= set(responses), (method, path)
        assert ("429" in responses) == (path not in ("/health", "/metrics")), (method, path)
        if "422" in responses and not path.startswith("/api/v3/"):
            assert responses["422"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorBody"
            }, (method, path)
    assert "HTTPValidationError" not in json.dumps(spec)
    rotate = paths["/api/pools/{pool_id}/rotate"]["post"]
    assert rotate["security"] == [{"AdminToken": []}]
    assert spec["components"]["securitySchemes"]["AdminToken"]["scheme"] == "bearer"


async def test_time_parameters_are_rfc_3339_only(app_client: AppClient) -> None:
    async with app_client() as client:
        spec = (await client.get("/openapi.json")).json()
        answers = {
            value: (await client.get("/api/logs/errors", params={"since": value})).status_code
            for value in (
                "2026-01-01T00:00:00Z",
                "2026-01-01T00:00:00.5+02:00",
                "0001-01-01T00:00:00+01:00",  # clamped to the earliest time, not a 500
                "9999-12-31T23:59:59-14:00",
                "0.5",
                "1767225600",
                "2026-01-01",
                "2026-01-01T00:00:00",
                "2026-01-01 00:00:00Z",
            )
        }
        changes = await client.get("/api/assets/changes", params={"since": "0.5"})
        history = await client.get("/api/crypto/history/BTC", params={"end": "0.5"})
    assert answers == {
        "2026-01-01T00:00:00Z": 200,
        "2026-01-01T00:00:00.5+02:00": 200,
        "0001-01-01T00:00:00+01:00": 200,
        "9999-12-31T23:59:59-14:00": 200,
        "0.5": 422,
        "1767225600": 422,
        "2026-01-01": 422,
        "2026-01-01T00:00:00": 422,
        "2026-01-01 00:00:00Z": 422,
    }
    assert changes.status_code == 422 and history.status_code == 422
    for method, path, operation in _operations(spec):
        for parameter in operation.get("parameters", []):
            if parameter["name"] in ("since", "start", "end"):
                schema = parameter["schema"]
                formats = [b.get("format") for b in schema.get("anyOf", [schema])]
                assert "date-time" in formats, (method, path, parameter["name"])


async def test_handler_checked_parameters_are_declared(app_client: AppClient) -> None:
    spec = await _spec(app_client)
    chart = {
        p["name"]: p for p in spec["paths"]["/api/v3/coins/{id}/market_chart"]["get"]["parameters"]
    }
    assert chart["vs_currency"]["required"] and chart["days"]["required"]
    assert chart["vs_currency"]["schema"]["type"] == "string"
    assert chart["days"]["schema"]["pattern"]
    simple = {p["name"]: p for p in spec["paths"]["/api/v3/simple/price"]["get"]["parameters"]}
    assert simple["vs_currencies"]["required"]
    market = {p["name"]: p for p in spec["paths"]["/api/market"]["get"]["parameters"]}
    assert market["symbols"]["schema"]["anyOf"][0]["pattern"]
    texts = spec["components"]["schemas"]["SentimentRequest"]["properties"]["texts"]
    assert texts["minItems"] == 1 and texts["items"]["pattern"]


async def test_sentiment_limits_come_from_the_settings(app_client: AppClient) -> None:
    spec = await _spec(app_client, sentiment_max_texts=3, sentiment_max_chars=40)
    texts = spec["components"]["schemas"]["SentimentRequest"]["properties"]["texts"]
    assert texts["maxItems"] == 3 and texts["items"]["maxLength"] == 40


async def test_links_lead_from_answers_to_the_operations_they_feed(app_client: AppClient) -> None:
    spec = await _spec(app_client)
    ids = {op["operationId"]: (m, p) for m, p, op in _operations(spec)}
    market = spec["paths"]["/api/market"]["get"]["responses"]["200"]["links"]
    assert ids[market["price"]["operationId"]] == ("get", "/api/price/{symbol}")
    assert market["price"]["parameters"] == {
        "symbol": "$response.body#/cryptocurrencies/0/asset_id"
    }
    for method, path, operation in _operations(spec):
        for link in operation["responses"].get("200", {}).get("links", {}).values():
            assert link["operationId"] in ids, (method, path)


def _serves_images(content: dict[str, Any]) -> bool:
    """A 200 of images only: every type `image/*` with a binary schema, PNG and SVG among them."""
    binary = {"type": "string", "format": "binary"}
    return {"image/png", "image/svg+xml"} <= set(content) and all(
        t.startswith("image/") and c.get("schema") == binary for t, c in content.items()
    )


async def test_the_image_route_documents_its_types_headers_and_link(app_client: AppClient) -> None:
    spec = await _spec(app_client)
    operation = spec["paths"]["/api/images/{asset_id}"]["get"]
    ok = operation["responses"]["200"]
    assert set(ok["content"]) == {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/svg+xml",
    }
    assert {"Cache-Control", "ETag", "X-Image-Fallback"} <= set(ok["headers"])
    assert {"304", "422", "429"} <= set(operation["responses"])
    [parameter] = operation["parameters"]
    assert parameter["in"] == "path" and parameter["schema"]["pattern"]
    links = spec["paths"]["/api/trending"]["get"]["responses"]["200"]["links"]
    assert links["image"]["parameters"] == {"asset_id": "$response.body#/trending/0/asset_id"}


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield method, path, operation
