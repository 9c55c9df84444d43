"""The command line behaves like a Unix tool, as a person at an 80-column terminal sees it:
exit codes, one JSON document with `--json`, tables that cut no name, numbers without
exponents, help that reads as sentences, NO_COLOR, and stdout free of progress output."""

from __future__ import annotations

import inspect
import itertools
import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from rich.console import Console
from typer.main import get_command
from typer.testing import CliRunner

from cryptoagg.bootstrap.tasks import utcnow
from cryptoagg.cli import app
from cryptoagg.cli.checks import ProbeResult, Response
from cryptoagg.cli.provider_tables import schema_table
from cryptoagg.cli.schema import judge
from cryptoagg.providers.registry import PROVIDERS
from cryptoagg.providers.shapes import expected_shapes
from cryptoagg.sim.server import SimServer
from cryptoagg.storage.db import make_engine, upgrade
from cryptoagg.storage.monitoring import (
    CheckRecord,
    CheckState,
    ResponseTimeRecord,
    ResponseTimeRepository,
    StatusLogRepository,
)
from tests.cli.test_providers import sim  # noqa: F401 (a fixture)
from tests.e2e.procs import SPOT_PROVIDERS, fault, free_port
from tests.providers.support import fixture_bytes

runner = CliRunner()
NAMES = [cls.name for cls in PROVIDERS]
#: a number in exponent notation (2.2e-05, 1E+3)
EXPONENT = re.compile(r"\d(?:\.\d+)?[eE][+-]?\d")
#: the read commands, in mock mode (a fresh database each)
READS = [
    ["price", "BTC", "ETH", "USDT", "DOGE"],
    ["market", "--limit", "12"],
    ["analyze", "USDT", "--window", "60"],
    ["providers"],
    ["providers", "check"],
    ["providers", "schema"],
    ["providers", "plan"],
]


def invoke(args: list[str], data_dir: Path, **env: str) -> Result:
    full: dict[str, str | None] = {
        "DATA_DIR": str(data_dir),
        "COLUMNS": "80",
        "NO_COLOR": None,
        "DATABASE_URL": None,
        "USE_MOCK_DATA": None,
        "UPSTREAM_BASE_URL": None,
        "PROVIDERS_FILE": None,
        **{f"{name.upper()}_API_KEY": None for name in NAMES},
        **env,
    }
    return runner.invoke(app, args, env=full)


def words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z0-9_.$\[\]*/-]+", text))


@pytest.mark.parametrize("args", READS, ids=" ".join)
def test_tables_fit_80_columns_cut_nothing_and_show_no_exponent(
    args: list[str], tmp_path: Path
) -> None:
    result = invoke([*args, "--mock"], tmp_path)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "…" not in out and "..." not in out
    assert not EXPONENT.search(out), out
    if args == ["providers"]:
        assert set(NAMES) <= words(out)  # every provider named, whole
    if args[0] == "price":  # every source of every consensus, whole
        assert {*SPOT_PROVIDERS, "coincap", "messari"} <= words(out)


@pytest.mark.parametrize("args", READS, ids=" ".join)
def test_json_is_exactly_one_document_on_stdout(args: list[str], tmp_path: Path) -> None:
    result = invoke([*args, "--mock", "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    json.loads(result.stdout)  # one document: anything after it would not parse
    assert result.stderr == ""


def test_the_price_of_a_stablecoin_and_its_analysis_read_alike(tmp_path: Path) -> None:
    analysis = invoke(["analyze", "USDT", "--window", "60", "--mock", "--json"], tmp_path)
    body = json.loads(analysis.stdout)
    table = invoke(["analyze", "USDT", "--window", "60", "--mock"], tmp_path).stdout
    rows = {
        cells[0]: cells[1]
        for line in table.splitlines()
        if len(cells := [c.strip() for c in line.strip("│").split("│")]) == 2
    }
    # one scale for every figure in the price's unit: five significant digits of ~1
    for name in ("close", "SMA(20)", "EMA(12)", "Bollinger middle", "range low"):
        assert re.fullmatch(r"[01]\.\d{5}", rows[name]), (name, rows[name])
    assert float(rows["close"]) == pytest.approx(body["close"], abs=0.000005)
    # MACD of a stablecoin is tiny: plain decimals, the same value
    line = rows["MACD(12,26,9) line"]
    assert re.fullmatch(r"-?0\.0+\d{5}", line), line
    assert float(line) == pytest.approx(body["indicators"]["macd"]["line"], rel=1e-4)


def test_exit_codes(tmp_path: Path) -> None:
    unknown = invoke(["price", "FOO", "--mock"], tmp_path)
    assert (unknown.exit_code, unknown.stdout) == (1, "")
    assert unknown.stderr == "error: unknown asset: 'FOO'\n"

    partial = invoke(["price", "BTC", "FOO", "--mock", "--json"], tmp_path)
    assert partial.exit_code == 1
    body = json.loads(partial.stdout)
    assert [p["asset_id"] for p in body["prices"]] == ["bitcoin"]
    assert body["errors"] == [
        {"query": "FOO", "code": "unknown_asset", "message": "unknown asset: 'FOO'"}
    ]

    nobody = invoke(["price", "BTC"], tmp_path, UPSTREAM_BASE_URL=f"http://127.0.0.1:{free_port()}")
    assert (nobody.exit_code, nobody.stdout) == (1, "")
    assert nobody.stderr.startswith("error: no provider could answer spot_price")

    assert invoke(["price", "BTC", "--bogus"], tmp_path).exit_code == 2
    assert invoke(["price"], tmp_path).exit_code == 2
    assert invoke(["providers", "-p", "coingeko"], tmp_path).exit_code == 2
    assert invoke(["market", "NOPECOIN", "--mock"], tmp_path).exit_code == 1


def test_check_as_a_flag_takes_the_same_options_as_the_command(tmp_path: Path) -> None:
    flag = invoke(["providers", "--check", "-p", "coincap", "--json", "--mock"], tmp_path)
    assert flag.exit_code == 0, flag.output
    assert [r["provider"] for r in json.loads(flag.stdout)] == ["coincap"]
    # without a key coincap is disabled: reported, not ok
    keyless = invoke(["providers", "--check", "-p", "coincap"], tmp_path)
    assert keyless.exit_code == 1
    assert "disabled" in keyless.stdout and "missing key" in keyless.stdout
    # options before the subcommand apply to it
    before = invoke(["providers", "--mock", "-p", "kraken", "--json", "check"], tmp_path)
    assert [r["provider"] for r in json.loads(before.stdout)] == ["kraken"]


def test_the_provider_list_shows_the_stored_checks(tmp_path: Path) -> None:
    fresh = invoke(["providers", "--json"], tmp_path)
    rows = {r["provider"]: r for r in json.loads(fresh.stdout)}
    assert rows["kraken"]["state"] == "not checked"
    assert rows["coincap"]["state"] == "disabled"
    assert "providers check" in invoke(["providers"], tmp_path).stdout  # how to check

    engine = make_engine(f"sqlite:///{tmp_path / 'cryptoagg.db'}")
    upgrade(engine)
    now = utcnow()
    StatusLogRepository(engine).add_many(
        [
            CheckRecord(now, "kraken", False, CheckState.DOWN, "timeout: no answer in 10 s"),
            CheckRecord(now, "binance", False, CheckState.SKIPPED, "budget"),
        ]
    )
    ResponseTimeRepository(engine).add_many(
        [ResponseTimeRecord(now, "coinbase", "spot_price:bitcoin", 12.0, True)]
    )
    engine.dispose()
    listed = invoke(["providers", "--json"], tmp_path)
    rows = {r["provider"]: r for r in json.loads(listed.stdout)}
    assert (rows["kraken"]["state"], rows["kraken"]["checked_by"]) == ("failing", "health check")
    assert rows["kraken"]["detail"] == "timeout: no answer in 10 s"
    assert (rows["coinbase"]["state"], rows["coinbase"]["checked_by"]) == ("ok", "probe")
    assert rows["binance"]["state"] == "not checked"  # a skipped check called nobody
    table = invoke(["providers"], tmp_path).stdout
    kraken = next(line for line in table.splitlines() if "kraken" in line)
    assert "failing: timeout" in kraken and "0s ago" in kraken


def test_a_schema_diff_at_80_columns_keeps_every_path_whole() -> None:
    path, expected = next(iter(expected_shapes()["messari"].items()))
    payload = json.loads(fixture_bytes(expected.fixture))
    for row in payload["data"]:  # lists are compared as the union of their elements
        row["marketData"].pop("marketcap")
        row["marketData"]["ohlcv24HourUsd"]["volume"] = "a string now"
        row["marketData"]["someNewFieldWithAVeryLongNameIndeed"] = 1
    probe = ProbeResult(
        "messari",
        "ok",
        1.0,
        value=[1],
        responses=[Response(path, 200, json.dumps(payload).encode())],
    )
    report = judge(probe)
    diff = report.endpoints[0].diff
    assert diff is not None and diff.missing and diff.new and diff.changed
    console = Console(record=True, width=80)
    console.print(schema_table([report]))
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    lines = text.splitlines()
    for shown in [*diff.missing, *diff.new, *(c.path for c in diff.changed)]:
        assert any(shown in line for line in lines), shown  # on one line, not cut
    assert "…" not in text


def _help_paragraphs(command: Any) -> list[str]:
    doc = inspect.cleandoc(command.__doc__ or "")
    return [" ".join(p.split()) for p in doc.split("\n\n")]


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["price"],
        ["market"],
        ["analyze"],
        ["backfill"],
        ["export"],
        ["restore"],
        ["providers"],
        ["providers", "check"],
        ["providers", "schema"],
        ["providers", "plan"],
        ["assets", "refresh"],
    ],
    ids=lambda a: " ".join(a) or "cryptoagg",
)
def test_help_reads_as_sentences_and_shows_flags_as_flags(args: list[str], tmp_path: Path) -> None:
    result = invoke([*args, "--help"], tmp_path)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "<bool>" not in text and "<list[str]>" not in text and "<str>" not in text
    assert "{" not in text.splitlines()[0]  # the usage line: SYMBOL..., not {SYMBOL}...
    assert max(len(line) for line in text.splitlines()) <= 80
    if "--mock" in text:
        assert re.search(r"^  --mock {2,}Ask the built-in", text, re.MULTILINE)
    # each paragraph is wrapped as a whole: a line ends only where the next word cannot fit
    blocks = text.split("\n\n")
    for block in blocks[1:]:
        lines = block.splitlines()
        if not lines or not lines[0].startswith("  ") or lines[0].startswith("  -"):
            continue
        for line, after in itertools.pairwise(lines):
            assert len(line) + 1 + len(after.split()[0]) > 76, (line, after)
    command: Any = get_command(app)
    for name in args:
        command = command.commands[name]
    for paragraph in _help_paragraphs(command.callback):
        assert paragraph in " ".join(text.split()), paragraph


def _on_a_terminal(args: list[str], tmp_path: Path, **env: str) -> tuple[bytes, str]:
    """Run with stdout on a pseudo-terminal; what it showed there, and stderr."""
    master, slave = pty.openpty()
    full = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    full.pop("NO_COLOR", None)
    full.update({"DATA_DIR": str(tmp_path), "COLUMNS": "80", "TERM": "xterm-256color", **env})
    proc = subprocess.Popen(
        [sys.executable, "-m", "cryptoagg", *args],
        stdout=slave,
        stderr=subprocess.PIPE,
        env=full,
    )
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        shown += chunk
    _, stderr = proc.communicate(timeout=60)
    os.close(master)
    assert proc.returncode == 0, stderr
    return shown, stderr.decode()


@pytest.mark.e2e
def test_no_color_means_no_escape_sequences(tmp_path: Path) -> None:
    args = ["price", "BTC", "--mock"]
    coloured, _ = _on_a_terminal(args, tmp_path)
    plain, _ = _on_a_terminal(args, tmp_path, NO_COLOR="1")
    assert b"\x1b[" in coloured  # a terminal gets styles...
    assert b"\x1b" not in plain  # ...unless NO_COLOR says no
    assert b"BTC (bitcoin)" in plain


@pytest.mark.e2e
def test_progress_stays_off_stdout(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update({"DATA_DIR": str(tmp_path), "COLUMNS": "80"})
    env.pop("USE_MOCK_DATA", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cryptoagg", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    filled = run("backfill", "--symbol", "BTC", "--days", "3", "--interval", "1h", "--mock")
    assert filled.returncode == 0, filled.stderr
    assert filled.stdout.lstrip().startswith("Backfill BTC")  # the table, nothing before it
    assert "━" not in filled.stdout.split("Backfill BTC")[0] and "BTC 1h (3 d)" not in filled.stdout
    assert filled.stderr == ""  # no terminal: no progress bar, no blank line
    exported = run("export", "--table", "candles")
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.startswith("exported ") and exported.stdout.count("\n") == 1
    assert exported.stderr == ""


def test_a_failing_provider_is_a_warning_a_disabled_one_is_not(
    tmp_path: Path,
    sim: tuple[str, SimServer],  # noqa: F811 (the fixture imported above)
) -> None:
    url, _ = sim
    fault(url, "kraken", "error", status=503)
    result = invoke(["price", "BTC"], tmp_path, UPSTREAM_BASE_URL=url)
    assert result.exit_code == 0, result.output  # the others answered: a full answer
    assert "BTC (bitcoin)" in result.stdout
    # coincap and messari have no key: disabled by configuration, not worth a warning
    assert result.stderr == "warning: kraken did not answer (unavailable: HTTP 503)\n"
