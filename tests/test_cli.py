"""The CLI as a user runs it: a real process, real output."""

from __future__ import annotations

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
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "BTC (bitcoin)" in out
    assert "ETH (ethereum)" in out
    assert "unknown asset: 'NOPECOINXYZ'" in out
    assert "coingecko" in out and "kraken" in out


def test_providers_table(tmp_path: Path) -> None:
    result = run(["providers"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "coingecko" in result.stdout
    assert "disabled: missing key" in result.stdout  # coincap, messari, cryptopanic


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


def test_assets_refresh_merges_the_listings(tmp_path: Path) -> None:
    result = run(["assets", "refresh", "--mock"], tmp_path)
    assert result.returncode == 0, result.stderr
    added = int(result.stdout.split(" assets added")[0])
    assert "from coingecko, binance" in result.stdout
    assert f"registry: {56 + added} assets, 56 tracked" in result.stdout
