"""Payload shapes: the shipped `shapes.json` against the recordings, and the comparison."""

from __future__ import annotations

import copy
from typing import Any

import orjson

from cryptoagg.providers.registry import PROVIDERS
from cryptoagg.providers.shapes import TypeChange, compare, expected_shapes, shape_of
from tests.providers import shapes_gen
from tests.providers.support import fixture_bytes

SIMPLE_PRICE = "/api/v3/simple/price"


def simple_price() -> dict[str, Any]:
    payload: dict[str, Any] = orjson.loads(fixture_bytes("coingecko/simple_price.json"))
    return payload


def test_the_shipped_shapes_are_generated_from_the_recordings() -> None:
    # if this fails: python -m tests.providers.shapes_gen
    assert shapes_gen.TARGET.read_text(encoding="utf-8") == shapes_gen.render(shapes_gen.build())


def test_every_provider_has_a_recorded_shape_with_what_its_parser_needs() -> None:
    shapes = expected_shapes()
    assert sorted(shapes) == sorted(cls.name for cls in PROVIDERS)
    coingecko = shapes["coingecko"][SIMPLE_PRICE]
    assert coingecko.required == {"$.*.usd"}
    assert "$.*.usd_24h_vol" in coingecko.used
    assert coingecko.fields["$.*.usd"] == ("number",)
    coinpaprika = shapes["coinpaprika"]["/v1/tickers"]
    assert {"$[].id", "$[].quotes.USD.price"} <= coinpaprika.required
    assert "$[].beta_value" not in coinpaprika.required | coinpaprika.used


def test_shape_of_collapses_lists_and_data_keyed_maps() -> None:
    payload = {"result": {"XXBTZUSD": {"c": ["1", 2]}, "XETHZUSD": {"c": [], "o": None}}}
    assert shape_of(payload, maps=("$.result",)) == {
        "$": {"object"},
        "$.result": {"object"},
        "$.result.*": {"object"},
        "$.result.*.c": {"array"},
        "$.result.*.c[]": {"string", "number"},
        "$.result.*.o": {"null"},
    }


def test_compare_reports_missing_new_and_changed_fields() -> None:
    expected = expected_shapes()["coingecko"][SIMPLE_PRICE]
    assert compare(expected, simple_price()).same
    changed = simple_price()
    row = changed["bitcoin"]
    del row["usd"]
    del row["usd_market_cap"]
    row["usd_24h_vol"] = str(row["usd_24h_vol"])
    row["usd_7d_change"] = 1.5
    row["last_updated_at"] = None  # null fits any type
    diff = compare(expected, changed)
    assert diff.missing == ["$.*.usd", "$.*.usd_market_cap"]
    assert diff.missing_required == ["$.*.usd"]
    assert diff.missing_used == ["$.*.usd_market_cap"]
    assert diff.new == ["$.*.usd_7d_change"]
    assert diff.changed == [TypeChange("$.*.usd_24h_vol", ("number",), ("string",))]
    assert str(diff.changed[0]) == "$.*.usd_24h_vol: number -> string"


def test_compare_lists_only_the_outermost_change_and_not_empty_lists() -> None:
    expected = expected_shapes()["coinpaprika"]["/v1/tickers"]
    tickers = orjson.loads(fixture_bytes("coinpaprika/tickers.json"))
    without_quotes = copy.deepcopy(tickers)
    for ticker in without_quotes:
        del ticker["quotes"]
        ticker["quotes_v2"] = {"USD": {"price": 1}}
    diff = compare(expected, without_quotes)
    assert diff.missing == diff.missing_required == ["$[].quotes"]
    assert diff.new == ["$[].quotes_v2"]
    assert compare(expected, []).same  # nothing to see, nothing missing
    assert compare(expected, {"data": tickers}).changed == [
        TypeChange("$", ("array",), ("object",))
    ]
