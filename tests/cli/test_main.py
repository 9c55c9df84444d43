"""The CLI as a user runs it: a real process, real output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cryptoagg.storage.backup import head_revision

pytestmark = pytest.mark.e2e

HEAD = head_revision()


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {
        k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "USE_MOCK_DATA"
    }
    full.update({"DATA_DIR": str(tmp_path), "COLUMNS": "200", **env})
    return subprocess.run(
        [sys.executable, "-m", "cryptoagg", *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_price_table_in_mock_mode(tmp_path: Path) -> None:
    result = run(["price", "BTC", "eth", "NOPECOINXYZ", "--mock"], tmp_path)
    assert result.returncode == 1  # one of three not found
    out = result.stdout
    assert "BTC (bitcoin)" in out
    assert "ETH (ethereum)" in out
    assert "NOPECOINXYZ" not in out
    assert result.stderr == "error: unknown asset: 'NOPECOINXYZ'\n"
    assert "coingecko" in out and "kraken~" in out  # Kraken's ticker has no quote time
    assert "~ quote time is when it was received" in out
    assert "band (low - high)" in out  # 200 columns: room for the band


def test_providers_table(tmp_path: Path) -> None:
    result = run(["providers"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "coingecko" in result.stdout
    assert "disabled: missing key" in result.stdout  # coincap, messari, cryptopanic
    assert "not checked" in result.stdout and "providers check" in result.stdout


def test_bad_configuration_is_one_clear_line(tmp_path: Path) -> None:
    result = run(["providers"], tmp_path, PORT="eighty")
    assert result.returncode == 2
    assert "PORT" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_unknown_provider_in_providers_file(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("providers:\n  coingeko: {enabled: false}\n")
    result = run(["providers"], tmp_path, PROVIDERS_FILE=str(path))
    assert result.returncode == 2
    assert "unknown provider(s) coingeko" in result.stderr
    assert "Traceback" not in result.stderr


def test_db_upgrade_is_idempotent(tmp_path: Path) -> None:
    first = run(["db", "upgrade"], tmp_path)
    again = run(["db", "upgrade"], tmp_path)
    assert first.returncode == 0, first.stderr
    assert f"database at revision {HEAD} (sqlite)" in again.stdout
    assert (tmp_path / "cryptoagg.db").exists()


def test_assets_refresh_stores_what_it_finds_and_prints_only_real_changes(
    tmp_path: Path,
) -> None:
    unknown = run(["price", "aave-usdc", "--mock"], tmp_path)
    assert unknown.returncode == 1 and "unknown asset" in unknown.stderr
    first = run(["assets", "refresh", "--mock"], tmp_path)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == (
        "coingecko: first listing stored (58 listed: 2 new to the registry, 0 known assets linked)"
    )
    assert [line.split(":")[0] for line in lines[1:5]] == [
        "binance",
        "kraken",
        "coinbase",
        "coinpaprika",
    ]
    assert lines[-1] == "registry: 58 assets, 56 tracked"

    again = run(["assets", "refresh", "--mock"], tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout == (
        "no changes since the last refresh (coingecko, binance, kraken, coinbase, coinpaprika)\n"
        "registry: 58 assets, 56 tracked\n"
    )
    # a new process starts with what the refresh found: the asset is known (the simulator
    # quotes no price for it)
    found = run(["price", "aave-usdc", "--mock", "--json"], tmp_path)
    assert [e["code"] for e in json.loads(found.stdout)["errors"]] == ["no_provider_available"]
