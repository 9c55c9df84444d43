"""`cryptoagg providers`, `providers check` and `providers schema` through typer's CliRunner,
against the in-process simulator (`--mock`) or one on a thread with injected faults."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import Result
from rich.console import Console
from typer.testing import CliRunner

from cryptoagg.cli import app
from cryptoagg.cli.checks import ProbeResult, Response
from cryptoagg.cli.providers import _schema_table
from cryptoagg.cli.schema import judge
from cryptoagg.core.errors import BadResponse
from cryptoagg.providers.registry import PROVIDERS
from cryptoagg.sim.server import SimServer, build_server
from tests.e2e.procs import fault, free_port
from tests.providers.support import fixture_bytes

runner = CliRunner()
ALL = [cls.name for cls in PROVIDERS]
#: the providers a simulator without keys serves (coincap, messari, cryptopanic need one)
KEYLESS = [n for n in ALL if n not in ("coincap", "messari", "cryptopanic")]
PROBES = {
    "coingecko": "spot_price:bitcoin",
    "alternative_me": "fear_greed",
    "defillama": "tvl",
    "coindesk": "news",
}
SIMPLE = "/api/v3/simple/price"


def invoke(args: list[str], data_dir: Path, **env: str) -> Result:
    full: dict[str, str | None] = {
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": None,
        "USE_MOCK_DATA": None,
        "UPSTREAM_BASE_URL": None,
        "PROVIDERS_FILE": None,
        **{f"{name.upper()}_API_KEY": None for name in ALL},
        **env,
    }
    return runner.invoke(app, args, env=full)


def rows(result: Result) -> dict[str, dict[str, Any]]:
    return {row["provider"]: row for row in json.loads(result.stdout)}


@pytest.fixture
def sim() -> Iterator[tuple[str, SimServer]]:
    """The simulator on a thread of its own, so faults can be added before a command runs."""
    server = build_server(port=free_port())
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the simulator did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{server.config.port}", server
    server.should_exit = True
    thread.join(10)


def test_check_in_mock_mode_finds_every_provider_ok(tmp_path: Path) -> None:
    result = invoke(["providers", "check", "--mock", "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    found = rows(result)
    assert list(found) == ALL  # the simulator gets a key for the keyed ones
    for name, row in found.items():
        assert (row["result"], row["ok"], row["detail"]) == ("ok", True, ""), name
        assert row["latency_ms"] > 0
    for name, endpoint in PROBES.items():
        assert found[name]["endpoint"] == endpoint


def test_schema_in_mock_mode_parses_every_payload(tmp_path: Path) -> None:
    result = invoke(["providers", "schema", "--mock", "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    found = rows(result)
    assert list(found) == ALL
    for name, row in found.items():
        assert (row["parse"], row["failed"]) == ("ok", False), name
        assert row["endpoints"], name
        for endpoint in row["endpoints"]:
            assert endpoint["fixture"], (name, endpoint)  # a recorded shape was found
            assert endpoint["missing_required"] == [], (name, endpoint)
    paths = {name: [e["path"] for e in row["endpoints"]] for name, row in found.items()}
    assert paths["coingecko"] == [SIMPLE]
    assert paths["coinbase"] == ["/products/BTC-USD/ticker"]
    assert sorted(paths["defillama"]) == ["/protocols", "/v2/chains"]


def test_the_list_stays_and_check_is_also_a_flag(tmp_path: Path) -> None:
    listing = invoke(["providers", "--mock"], tmp_path)
    assert listing.exit_code == 0, listing.output
    assert "Providers" in listing.stdout and "fear_greed" in listing.stdout
    flag = invoke(["providers", "--check", "--mock"], tmp_path)
    assert flag.exit_code == 0, flag.output
    assert f"{len(ALL)} of {len(ALL)} ok" in flag.stdout


def test_check_exits_1_and_names_the_error_kind(tmp_path: Path, sim: tuple[str, SimServer]) -> None:
    url, _ = sim
    fault(url, "kraken", "error", status=503)
    fault(url, "binance", "geoblock")
    result = invoke(["providers", "check", "--json"], tmp_path, UPSTREAM_BASE_URL=url)
    assert result.exit_code == 1, result.output
    found = rows(result)
    assert list(found) == KEYLESS  # disabled providers are not called
    assert (found["kraken"]["result"], found["kraken"]["detail"]) == (
        "unavailable",
        "HTTP 503",
    )
    assert found["binance"]["result"] == "geo_blocked"
    assert found["binance"]["detail"].startswith("HTTP 451")
    assert all(found[n]["ok"] for n in KEYLESS if n not in ("kraken", "binance"))

    table = invoke(["providers", "check", "-p", "kraken"], tmp_path, UPSTREAM_BASE_URL=url)
    assert table.exit_code == 1
    assert "unavailable" in table.stdout and "0 of 1 ok" in table.stdout


def test_a_spent_quota_is_skipped_without_a_call(
    tmp_path: Path, sim: tuple[str, SimServer]
) -> None:
    url, server = sim
    month = datetime.now(UTC).strftime("%Y-%m")
    (tmp_path / "quota.json").write_text(json.dumps({"coingecko": {month: 10_000}}))
    result = invoke(
        ["providers", "check", "--json", "-p", "coingecko", "-p", "kraken"],
        tmp_path,
        UPSTREAM_BASE_URL=url,
    )
    assert result.exit_code == 1, result.output
    found = rows(result)
    assert found["coingecko"]["result"] == "skipped: budget"
    assert found["coingecko"]["detail"] == "monthly quota used"
    assert found["coingecko"]["latency_ms"] is None
    assert found["kraken"]["result"] == "ok"
    assert server.sim.stats.total("coingecko") == 0
    assert server.sim.stats.total("kraken") == 1


def test_a_quota_provider_is_probed_at_most_as_often_as_the_health_check(
    tmp_path: Path, sim: tuple[str, SimServer]
) -> None:
    url, server = sim
    args = ["providers", "check", "--json", "-p", "coingecko"]
    first = invoke(args, tmp_path, UPSTREAM_BASE_URL=url)
    again = invoke(args, tmp_path, UPSTREAM_BASE_URL=url)
    assert first.exit_code == again.exit_code == 0, again.output
    assert server.sim.stats.total("coingecko") == 1  # 10,000 a month: one probe per ~86 min
    before, after = rows(first)["coingecko"], rows(again)["coingecko"]
    assert after["result"] == "ok" and after["latency_ms"] == before["latency_ms"]
    assert after["detail"].startswith("not sent: the probe at ")
    assert "one probe every 86 min" in after["detail"]


def test_schema_fails_on_a_payload_the_adapter_cannot_read(
    tmp_path: Path, sim: tuple[str, SimServer]
) -> None:
    url, _ = sim
    fault(url, "coinbase", "malformed")
    fault(url, "kraken", "error", status=500)
    args = ["providers", "schema", "--json", "-p", "coinbase", "-p", "kraken", "-p", "binance"]
    result = invoke(args, tmp_path, UPSTREAM_BASE_URL=url)
    assert result.exit_code == 1, result.output
    found = rows(result)
    coinbase = found["coinbase"]
    assert (coinbase["parse"], coinbase["failed"]) == ("failed", True)
    assert coinbase["detail"] == "body is not JSON"
    # unreachable is not a format verdict: shown, but it does not fail `schema`
    assert (found["kraken"]["parse"], found["kraken"]["failed"]) == ("unavailable", False)
    assert (found["binance"]["parse"], found["binance"]["failed"]) == ("ok", False)


def test_unknown_provider_names_are_refused(tmp_path: Path) -> None:
    result = invoke(["providers", "check", "--mock", "-p", "coingeko"], tmp_path)
    assert result.exit_code == 2
    assert "unknown provider(s) coingeko" in result.stderr


def test_judge_fails_a_payload_missing_a_required_field() -> None:
    changed = _simple_price()
    del changed["bitcoin"]["usd"]
    probe = ProbeResult(
        "coingecko",
        "ok",
        12.0,
        value=[object()],
        responses=[Response(SIMPLE, 200, orjson.dumps(changed))],
    )
    report = judge(probe)
    assert report.failed and report.parse == "ok"
    assert report.missing_required == ["$.*.usd"]
    assert report.as_json()["endpoints"][0]["missing_required"] == ["$.*.usd"]

    fine = judge(
        ProbeResult(
            "coingecko",
            "ok",
            12.0,
            value=[object()],
            responses=[Response(SIMPLE, 200, orjson.dumps(_simple_price()))],
        )
    )
    assert not fine.failed and fine.endpoints[0].diff is not None and fine.endpoints[0].diff.same


def test_judge_reads_the_adapters_verdict() -> None:
    bad = BadResponse("kraken", "unexpected ticker payload (ValidationError)")
    failed = judge(ProbeResult("kraken", "bad_response", 3.0, detail="x", error=bad))
    assert (failed.parse, failed.failed) == ("failed", True)
    empty = judge(ProbeResult("kraken", "ok", 3.0, value=[]))
    assert (empty.parse, empty.failed) == ("empty", True)
    unknown = judge(
        ProbeResult("kraken", "ok", 3.0, value=[1], responses=[Response("/x", 200, b"{}")])
    )
    assert unknown.endpoints[0].note == "no recorded shape" and not unknown.failed


def _simple_price() -> dict[str, Any]:
    payload: dict[str, Any] = orjson.loads(fixture_bytes("coingecko/simple_price.json"))
    return payload


def test_the_schema_table_marks_a_missing_required_field() -> None:
    changed = _simple_price()
    del changed["bitcoin"]["usd"]
    del changed["bitcoin"]["usd_24h_vol"]
    body = orjson.dumps(changed)
    probe = ProbeResult("coingecko", "ok", 1.0, value=[1], responses=[Response(SIMPLE, 200, body)])
    out = Console(record=True, width=200)
    out.print(_schema_table([judge(probe)]))
    text = out.export_text()
    assert "$.*.usd (required)" in text
    assert "$.*.usd_24h_vol (used)" in text
    assert "1 of 1 failed" in text
