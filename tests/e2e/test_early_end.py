"""Times at the edges of what `datetime` holds, against a real server: a range that cannot be
served is a 422 in the error shape, never a 500, and the keep-alive connection that asked goes
on serving (a 500 from an exception made uvicorn drop it: the next request got ECONNRESET)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import pytest

from tests.e2e.procs import server, simulator

pytestmark = pytest.mark.e2e

#: the 200 candles before each `end` would start before 0001-01-01 (issue 13, point 1)
UNSERVABLE = [
    "/api/crypto/history/BTC?end=0001-01-01T00:00:00Z",
    "/api/crypto/history/BTC?interval=1d&end=0001-03-01T00:00:00Z",
    "/api/crypto/history/BTC?interval=1m&end=0001-01-01T03:00:00Z",
    "/api/crypto/history/BTC?end=0001-01-01T00:00:00%2B01:00",
]
#: answered, the times clamped to 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z
CLAMPED = [
    "/api/crypto/history/BTC?backfill=false&start=9999-12-31T23:00:00Z&end=9999-12-31T23:59:59.999999Z",
    "/api/logs/errors?since=0001-01-01T00:00:00%2B01:00",
    "/api/assets/changes?since=0001-01-01T00:00:00%2B14:00",
    "/api/logs/errors?since=9999-12-31T23:59:59-14:00",
]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("data")
    with simulator(seed=3) as sim, server(data, {"UPSTREAM_BASE_URL": sim}) as url:
        yield url


def _get(connection: http.client.HTTPConnection, target: str) -> tuple[int, dict[str, object]]:
    connection.request("GET", target)
    response = connection.getresponse()
    body = json.loads(response.read())
    assert not response.will_close, f"the server closes the connection after {target}"
    return response.status, body


def test_an_unservable_range_is_a_422_and_the_connection_goes_on(api: str) -> None:
    host, port = api.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        status, _ = _get(connection, "/health")
        assert status == 200
        sock = connection.sock
        for target in UNSERVABLE:
            status, body = _get(connection, target)
            assert status == 422, (target, body)
            error = body["error"]
            assert isinstance(error, dict) and error["code"] == "invalid_range", body
            assert "before 0001-01-01T00:00:00Z" in error["message"]
            # the same socket answers the next request
            status, body = _get(connection, "/api/crypto/history/BTC?interval=1d&backfill=false")
            assert status == 200, body
            assert connection.sock is sock
        for target in CLAMPED:
            status, body = _get(connection, target)
            assert status == 200, (target, body)
        assert connection.sock is sock
    finally:
        connection.close()


def test_unix_seconds_are_not_times(api: str) -> None:
    host, port = api.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        for target in (
            "/api/crypto/history/BTC?end=0.5",
            "/api/logs/errors?since=0.5",
            "/api/assets/changes?since=1767225600",
        ):
            status, body = _get(connection, target)
            assert status == 422, (target, body)
    finally:
        connection.close()
