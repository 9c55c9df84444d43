from __future__ import annotations

import os
from pathlib import Path

import pytest

from cryptoagg.config import load_settings, prepare_data_dir
from cryptoagg.core.errors import ConfigError


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.port == 7860
    assert settings.host == "0.0.0.0"
    assert settings.use_mock_data is False
    assert settings.database_url is None
    assert settings.db_url == "sqlite:///data/cryptoagg.db"
    assert settings.sentiment_backend == "market"


def clear_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().endswith("_API_KEY"):
            monkeypatch.delenv(name)


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_keys(monkeypatch)
    monkeypatch.setenv("PORT", "9999")
    monkeypatch.setenv("USE_MOCK_DATA", "true")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    monkeypatch.setenv("COINGECKO_API_KEY", "cg-secret-key")
    settings = load_settings()
    assert settings.port == 9999
    assert settings.use_mock_data is True
    assert settings.log_level == "DEBUG"
    assert settings.secrets() == ["cg-secret-key"]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PORT", "not-a-port"),
        ("PORT", "70000"),
        ("DATABASE_URL", "mysql://x"),
        ("REDIS_URL", "http://nope"),
        ("UPSTREAM_BASE_URL", "ftp://sim"),
        ("LOG_FORMAT", "xml"),
        ("SENTIMENT_BACKEND", "magic"),
        ("PROVIDERS_FILE", "/nonexistent/providers.yaml"),
        ("PUBLIC_URL", "ftp://agg.example"),
        ("PUBLIC_URL", "https://agg.example/?x=1"),
        ("IMAGE_CACHE_MAX_BYTES", "-1"),
    ],
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert variable in info.value.message
    assert value not in info.value.message or variable == "LOG_FORMAT"


def test_providers_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "providers.yaml"
    path.write_text("providers:\n  binance: {enabled: false}\n  kraken: {priority: 0}\n")
    monkeypatch.setenv("PROVIDERS_FILE", str(path))
    overrides = load_settings().provider_overrides()
    assert overrides["binance"].enabled is False
    assert overrides["kraken"].priority == 0


def test_providers_file_errors_are_clear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "providers.yaml"
    path.write_text("providers:\n  binance: {enabeld: false}\n")
    monkeypatch.setenv("PROVIDERS_FILE", str(path))
    with pytest.raises(ConfigError) as info:
        load_settings().provider_overrides()
    assert "PROVIDERS_FILE" in info.value.message
    assert "enabeld" in info.value.message


def test_data_dir_is_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "d"))
    prepare_data_dir(load_settings())
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["backups", "exports", "logs"]


def test_secrets_cover_every_credential(tmp_path: Path) -> None:
    providers_file = tmp_path / "providers.yaml"
    providers_file.write_text(
        "alerts:\n  - webhook_url: https://hooks.example.com/T0/secret-path\n", encoding="utf-8"
    )
    settings = load_settings(
        coingecko_api_key="cg-key-1",
        admin_token="admin-token-12345678",
        database_url="postgresql+psycopg://app:db%2Fpass@127.0.0.1:5432/test",
        redis_url="redis://:redis-pass@127.0.0.1:6379/0",
        providers_file=providers_file,
    )
    assert set(settings.secrets()) == {
        "cg-key-1",
        "admin-token-12345678",
        "db%2Fpass",  # as written in the URL
        "db/pass",  # and decoded
        "redis-pass",
        "https://hooks.example.com/T0/secret-path",
    }


def test_images_and_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().image_cache_max_bytes == 16 * 1_048_576
    assert load_settings().public_url is None
    monkeypatch.setenv("PUBLIC_URL", "https://agg.example/base/")
    monkeypatch.setenv("IMAGE_CACHE_MAX_BYTES", "0")
    settings = load_settings()
    assert settings.public_url == "https://agg.example/base"
    assert settings.image_cache_max_bytes == 0


@pytest.mark.parametrize(
    "provider", ["coingecko", "coincap", "cryptocompare", "messari", "cryptopanic"]
)
def test_every_documented_key_variable_is_read(
    monkeypatch: pytest.MonkeyPatch, provider: str
) -> None:
    clear_keys(monkeypatch)
    monkeypatch.setenv(f"{provider.upper()}_API_KEY", f"{provider}-key-123")
    settings = load_settings()
    key = settings.api_key(provider)
    assert key is not None and key.get_secret_value() == f"{provider}-key-123"
    assert settings.secrets() == [f"{provider}-key-123"]


def test_any_providers_key_is_read_by_its_name_with_no_settings_field(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clear_keys(monkeypatch)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("NEWCOMER_API_KEY=from-dotenv-1\nCOINGECKO_API_KEY=dotenv-cg\n")
    monkeypatch.setenv("Coingecko_Api_Key", "env-cg-2")  # the environment wins over .env
    monkeypatch.setenv("EMPTY_API_KEY", "")  # empty: unset
    settings = load_settings(messari_api_key="kw-messari-3")
    keys = {name: key.get_secret_value() for name, key in settings.api_keys.items()}
    assert keys == {"newcomer": "from-dotenv-1", "coingecko": "env-cg-2", "messari": "kw-messari-3"}
    assert settings.api_key("empty") is None and settings.api_key("kraken") is None
    assert settings.secrets() == ["env-cg-2", "kw-messari-3", "from-dotenv-1"]
    assert "env-cg-2" not in repr(settings)
