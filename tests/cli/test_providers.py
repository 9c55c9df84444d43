"""`cryptoagg providers`, `providers check` and `providers schema` through typer's CliRunner,
against the in-process simulator (`--mock`) or one on a thread with injected faults."""

from __future__ import annotations

import json
import re
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
from cryptoagg.cli.provider_tables import schema_table
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
    "defillama": "tvl:uniswap",
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
    assert sorted(paths["defillama"]) == ["/tvl/uniswap"]


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
    # 10,000 a month: the plan lets the health job probe it every ~2.7 hours
    assert server.sim.stats.total("coingecko") == 1
    before, after = rows(first)["coingecko"], rows(again)["coingecko"]
    assert after["result"] == "ok" and after["latency_ms"] == before["latency_ms"]
    assert after["detail"].startswith("not sent: the probe at ")
    assert re.search(r"the monthly plan allows one probe every 1[4-7]\d min", after["detail"])


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
    out.print(schema_table([judge(probe)]))
    text = out.export_text()
    assert "missing (required) $.*.usd" in text
    assert "missing (used) $.*.usd_24h_vol" in text
    assert "1 of 1 failed" in text


# -- providers plan --------------------------------------------------------------------------

#: the middle of June 2026 (30 days): 15 days gone, 15 to go
MID_JUNE = datetime(2026, 6, 16, tzinfo=UTC)


@pytest.fixture
def mid_june(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The plan's clock at MID_JUNE, and a ledger in mock mode's DATA_DIR/mock: CoinGecko has
    spent 1,500 calls (300 by clients), CoinPaprika all of its 20,000."""
    monkeypatch.setattr("cryptoagg.bootstrap.providers.utcnow", lambda: MID_JUNE)
    counts = {
        "coingecko": {"2026-06": {"client": 300, "prices": 1200}},
        "coinpaprika": {"2026-06": {"client": 20_000}},
    }
    (tmp_path / "mock").mkdir()
    (tmp_path / "mock" / "quota.json").write_text(json.dumps({"version": 2, "counts": counts}))
    return tmp_path


def test_plan_shows_each_providers_month(mid_june: Path) -> None:
    result = invoke(["providers", "plan", "--mock", "--json"], mid_june)
    assert result.exit_code == 0, result.output
    found = rows(result)
    assert list(found) == ALL  # the enabled ones: mock mode has a key for every provider
    coingecko = found["coingecko"]
    # clients are planned at least their reserve: 25% of 10,000 a month, 1,250 for the half
    # month left (they used 300 in the first half); background work gets the rest of the
    # target, 8,000 - 1,500 - 1,250 = 5,250: probes 5% of it (262.5), collectors 4,987.5
    assert {k: coingecko[k] for k in ("used_this_month", "used_by_clients", "monthly")} == {
        "used_this_month": 1_500,
        "used_by_clients": 300,
        "monthly": 10_000,
    }
    assert (coingecko["target"], coingecko["client_reserve"]) == (8_000, 1_250)
    assert coingecko["projected_month_end"] == 8_000
    assert coingecko["exhausted"] is False
    # collectors would spend 0.02 calls/s (prices each 60 s, candles each 300 s) for 15 days,
    # 25,920 calls: slowed by 4,987.5 / 25,920; health (1/60 s, 21,600) by 262.5 / 21,600
    intervals = {j["job"]: j["interval_s"] for j in coingecko["schedule"]}
    assert intervals == {"prices": 311.8, "candles": 1559.1, "health": 4937.1}

    paprika = found["coinpaprika"]
    assert paprika["exhausted"] is True
    assert (paprika["used_this_month"], paprika["projected_month_end"]) == (20_000, 20_000)
    assert all(j["interval_s"] is None for j in paprika["schedule"])

    kraken = found["kraken"]  # no monthly quota: planned from its rate limits
    assert (kraken["monthly"], kraken["target"], kraken["client_reserve"]) == (None, None, None)
    assert {j["job"]: j["interval_s"] for j in kraken["schedule"]}["prices"] == 60.0


def test_plan_table_fits_80_columns(mid_june: Path) -> None:
    result = invoke(["providers", "plan", "--mock"], mid_june, COLUMNS="80")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "Quota plan this month (UTC)" in lines[0]

    def cells(line: str) -> list[str]:
        return [cell.strip() for cell in line.split("│")]

    table = [cells(line) for line in lines if "│" in line]
    start = next(i for i, row in enumerate(table) if row[0] == "coingecko")
    # provider, used, month end, quota, target, reserve, then the jobs, one a line
    assert table[start] == [
        "coingecko",
        "1,500",
        "8,000",
        "10,000",
        "8,000",
        "1,250",
        "prices 5.2m",
    ]
    assert [row[6] for row in table[start + 1 : start + 3]] == ["candles 26m", "health 1.4h"]
    assert table[start + 3][0] == "binance"
    kraken = next(row for row in table if row[0] == "kraken")
    # no monthly quota: its jobs at their base intervals, 0.0367 calls/s for 15 days
    assert kraken[1:7] == ["0", "47,520", "-", "-", "-", "prices 1m"]
    paprika = next(i for i, row in enumerate(table) if row[0] == "coinpaprika")
    assert table[paprika][1:6] == ["20,000", "20,000", "20,000", "16,000", "0"]
    assert [row[6] for row in table[paprika : paprika + 2]] == ["prices paused", "health paused"]
