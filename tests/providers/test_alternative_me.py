from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from cryptoagg.core.errors import BadResponse, Unavailable
from cryptoagg.providers.alternative_me import (
    AlternativeMeProvider,
    parse_fng,
    parse_fng_history,
)
from tests.providers.support import Recorder, fixture_bytes, make, replay, respond


def load() -> Any:
    return orjson.loads(fixture_bytes("alternative_me/fng_limit2.json"))


async def test_fear_greed_asks_for_the_latest_point() -> None:
    rec = Recorder(replay("alternative_me/fng_limit2.json"))
    provider = make(AlternativeMeProvider, rec)
    index = await provider.fear_greed()
    assert index.value == 25
    assert index.classification == "Extreme Fear"
    assert index.as_of == datetime(2022, 9, 12, tzinfo=UTC)
    assert index.provider == "alternative_me"
    [request] = rec.requests
    assert request.url.host == "api.alternative.me"
    assert request.url.path == "/fng/"
    assert dict(request.url.params) == {"limit": "1", "format": "json"}


def test_parse_fng_history_keeps_every_point_newest_first() -> None:
    history = parse_fng_history(load())
    assert [(p.value, p.classification) for p in history] == [
        (25, "Extreme Fear"),
        (26, "Fear"),
    ]
    assert [p.as_of for p in history] == [
        datetime.fromtimestamp(1662940800, tz=UTC),
        datetime.fromtimestamp(1662854400, tz=UTC),
    ]


def test_parse_fng_picks_the_newest_point_whatever_the_order() -> None:
    payload = load()
    payload["data"] = list(reversed(payload["data"]))
    assert parse_fng(payload).value == 25


@pytest.mark.parametrize(
    "body",
    [
        b'{"name": "Fear and Greed Index", "data": [], "metadata": {"error": null}}',
        b'{"data": [{"value": "high", "value_classification": "Greed", "timestamp": "1"}]}',
        b'{"metadata": {"error": null}}',
    ],
    ids=["empty", "not-a-number", "no-data"],
)
async def test_unusable_bodies_are_bad_responses(body: bytes) -> None:
    provider = make(AlternativeMeProvider, respond(body))
    with pytest.raises(BadResponse):
        await provider.fear_greed()


async def test_error_reported_in_metadata_is_a_bad_response() -> None:
    body = b'{"name": "Fear and Greed Index", "data": [], "metadata": {"error": "Invalid limit"}}'
    provider = make(AlternativeMeProvider, respond(body))
    with pytest.raises(BadResponse, match="Invalid limit"):
        await provider.fear_greed()


async def test_server_error_is_unavailable() -> None:
    provider = make(AlternativeMeProvider, respond("<html>Bad gateway</html>", 502))
    with pytest.raises(Unavailable):
        await provider.fear_greed()
