"""Settings from the environment (and `.env`), validated once at start-up.

Every variable of SPEC §3 is here; units are in the names (`_s` seconds). A bad value stops
start-up with one `ConfigError` naming the variable, never echoing a secret.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import unquote, urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from cryptoagg.core.errors import ConfigError

DATA_SUBDIRS = ("exports", "backups", "logs")
KEYED_PROVIDERS = ("coingecko", "coincap", "cryptocompare", "messari", "cryptopanic")
#: a browser origin: scheme, host and optional port, nothing else
_ORIGIN = re.compile(r"https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?")


class ProviderOverride(BaseModel):
    """One provider's entry in PROVIDERS_FILE."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    priority: int | None = Field(default=None, ge=0, le=1000)
    base_url: str | None = Field(default=None, pattern=r"^https?://")
    rate_per_s: float | None = Field(default=None, gt=0)
    rate_per_min: float | None = Field(default=None, gt=0)
    monthly_quota: int | None = Field(default=None, ge=0)


class PoolOverride(BaseModel):
    """One pool's entry in PROVIDERS_FILE (pools are named by capability)."""

    model_config = ConfigDict(extra="forbid")

    strategy: Literal["priority", "round_robin", "weighted", "least_used", "fastest_response"] = (
        "priority"
    )
    members: list[str] | None = None
    weights: dict[str, float] = {}


class AlertRuleConfig(BaseModel):
    """One entry of `alerts:` in PROVIDERS_FILE: where incident alerts are POSTed."""

    model_config = ConfigDict(extra="forbid")

    webhook_url: str = Field(pattern=r"^https?://")
    #: only these providers' incidents (default: every provider)
    providers: list[str] | None = None
    #: only these events (default: both)
    events: list[Literal["opened", "resolved"]] | None = None


class ProvidersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    providers: dict[str, ProviderOverride] = {}
    pools: dict[str, PoolOverride] = {}
    alerts: list[AlertRuleConfig] = []


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    port: int = Field(default=7860, ge=1, le=65535)
    host: str = "0.0.0.0"
    use_mock_data: bool = False
    #: unset: SQLite at DATA_DIR/cryptoagg.db (so the documented default ./data/cryptoagg.db)
    database_url: str | None = None
    #: the database of mock mode (unset: SQLite at DATA_DIR/mock/cryptoagg.db); mock mode
    #: never opens DATABASE_URL, so simulated data never mixes with real data
    mock_database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = Path("./data")
    providers_file: Path | None = None
    upstream_base_url: str | None = None

    coingecko_api_key: SecretStr | None = None
    coincap_api_key: SecretStr | None = None
    cryptocompare_api_key: SecretStr | None = None
    messari_api_key: SecretStr | None = None
    cryptopanic_api_key: SecretStr | None = None

    admin_token: SecretStr | None = None
    enable_auto_discovery: bool = False
    sentiment_backend: Literal["vader", "transformers"] = "vader"
    sentiment_model: str | None = None
    #: limits of POST /api/hf/run-sentiment
    sentiment_max_texts: int = Field(default=32, ge=1, le=1000)
    sentiment_max_chars: int = Field(default=2000, ge=1, le=100_000)
    #: characters one client may have scored per minute (0: no per-client budget); 429 beyond
    sentiment_client_chars_per_min: int = Field(default=1_000_000, ge=0, le=1_000_000_000)
    #: characters a client may send at once on top of the steady rate
    sentiment_client_burst_chars: int = Field(default=256_000, ge=1, le=1_000_000_000)
    #: threads running CPU-heavy work (sentiment scoring, analysis indicators); pure-Python
    #: work holds the interpreter lock, so more than 1 only shares it out further
    cpu_workers: int = Field(default=1, ge=1, le=64)
    #: CPU jobs that may wait for a worker; beyond, 503 with Retry-After
    cpu_queue: int = Field(default=8, ge=0, le=10_000)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["console", "json"] = "console"

    # tuning (documented in the README; defaults suit the free tiers)
    upstream_timeout_s: float = Field(default=8.0, gt=0, le=120)
    price_ttl_s: float = Field(default=30.0, ge=0)
    markets_ttl_s: float = Field(default=60.0, ge=0)
    slow_ttl_s: float = Field(default=300.0, ge=0)
    quote_max_age_s: float = Field(default=300.0, gt=0)
    stale_if_error_s: float = Field(default=3600.0, ge=0)
    #: the first request after a TTL waits this long for the refresh it starts
    revalidate_wait_s: float = Field(default=0.5, ge=0, le=30)
    discovery_interval_s: float = Field(default=6 * 3600.0, ge=60)
    request_deadline_s: float = Field(default=10.0, gt=0, le=120)
    # protection of the HTTP server (README "Security")
    #: largest request body accepted, in bytes (413 beyond)
    max_body_bytes: int = Field(default=1_048_576, ge=1, le=100 * 1_048_576)
    #: a handler that has not started its response by then is answered 504
    request_timeout_s: float = Field(default=30.0, gt=0, le=600)
    #: a client must send a request's line and headers within this (then 408 and closed)
    header_timeout_s: float = Field(default=10.0, gt=0, le=300)
    #: the request target (path and query) may take this many bytes (414 beyond)
    max_url_bytes: int = Field(default=8192, ge=256, le=1_048_576)
    #: request header names and values together may take this many bytes (431 beyond)
    max_header_bytes: int = Field(default=32768, ge=1024, le=16 * 1_048_576)
    #: headers one request may send (431 beyond)
    max_headers: int = Field(default=100, ge=10, le=10_000)
    #: requests per minute per client address (0: no limit); /health and /metrics are exempt
    rate_limit_per_min: int = Field(default=600, ge=0, le=1_000_000)
    #: requests a client may send at once on top of the steady rate
    rate_limit_burst: int = Field(default=60, ge=1, le=100_000)
    #: your reverse proxies (comma list of addresses and CIDR networks): a request from one
    #: of them gets its client address from X-Forwarded-For (walked from the right, past
    #: these) and https from X-Forwarded-Proto; empty: proxy headers are ignored
    trusted_proxies: Annotated[list[ipaddress.IPv4Network | ipaddress.IPv6Network], NoDecode] = []
    #: deprecated (use TRUSTED_PROXIES): trust whatever peer connects as a proxy
    trust_proxy_headers: bool = False
    #: origins whose pages may call the API (comma list, or *); empty: same origin only
    cors_origins: Annotated[list[str], NoDecode] = []
    collectors: bool = True
    collect_prices_s: float = Field(default=60.0, ge=5)
    collect_assets: int = Field(default=20, ge=1, le=250)
    #: seconds between 1-minute candle runs (each fetches only the minutes still missing)
    collect_candles_s: float = Field(default=300.0, ge=10)
    #: hours of 1-minute candles each candle run keeps complete
    collect_candles_lookback_h: float = Field(default=6.0, gt=0, le=168)
    collect_news_s: float = Field(default=900.0, ge=60)
    #: days each candle tier is kept (0: forever); coarser tiers are rolled up first
    retention_1m_days: int = Field(default=7, ge=1)
    retention_1h_days: int = Field(default=365, ge=1)
    retention_1d_days: int = Field(default=0, ge=0)
    #: upstream calls one /api/crypto/history request may spend filling a gap (0: none)
    history_backfill_calls: int = Field(default=3, ge=0, le=50)
    #: seconds between provider health checks (incidents, alerts)
    collect_health_s: float = Field(default=60.0, ge=5)
    #: a catch-all alert rule (a secret: webhook URLs often carry a token)
    alert_webhook_url: SecretStr | None = None
    #: allow webhook URLs that resolve to loopback, private or other non-global addresses
    webhook_allow_private: bool = False
    retry_attempts: int = Field(default=2, ge=1, le=5)
    # the monthly plan (README "Upstream budgets")
    #: projected month-end use of a monthly quota the plan aims at
    quota_target: float = Field(default=0.8, gt=0, le=1)
    #: share of a monthly quota kept for client requests (collectors plan around it)
    quota_client_reserve: float = Field(default=0.25, ge=0, lt=1)
    #: share of each per-second/per-minute budget background work leaves to clients
    rate_client_reserve: float = Field(default=0.25, ge=0, lt=1)
    breaker_failures: int = Field(default=5, ge=1, le=100)
    breaker_cooldown_s: float = Field(default=30.0, gt=0, le=3600)
    #: how many backups `cryptoagg backup` keeps in DATA_DIR/backups (oldest removed first)
    backup_keep: int = Field(default=7, ge=1)
    #: WS /ws: connections this process accepts (more are closed with 1013)
    ws_max_connections: int = Field(default=1000, ge=1, le=100_000)
    #: WS /ws: frames waiting for one client; a client that lets more pile up is dropped
    ws_queue_size: int = Field(default=256, ge=1, le=100_000)
    #: WS /ws: seconds between heartbeat frames
    ws_heartbeat_s: float = Field(default=30.0, gt=0, le=3600)
    #: WS /ws: largest message a client may send (bytes)
    ws_max_message_bytes: int = Field(default=4096, ge=256, le=1_048_576)
    #: WS /ws: connections one client address may hold (more are refused with 429)
    ws_max_per_client: int = Field(default=10, ge=1, le=100_000)
    #: coin images kept on disk (DATA_DIR/images, DATA_DIR/mock/images in mock mode), in
    #: bytes; beyond, the least recently used go. 0: no image is fetched or kept, every coin
    #: gets its generated icon (GET /api/images/{asset_id})
    image_cache_max_bytes: int = Field(default=16 * 1_048_576, ge=0, le=1024 * 1_048_576)
    #: the address clients reach this server at (scheme://host[:port][/path]): the image URLs
    #: of /api/v3 answers are absolute under it; unset: root-relative (/api/images/…)
    public_url: str | None = None

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            for origin in value:
                if origin != "*" and not _ORIGIN.fullmatch(str(origin)):
                    raise ValueError(
                        f"{origin!r} is not an origin (scheme://host[:port], no path) or *"
                    )
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            networks = []
            for item in value:
                try:
                    networks.append(ipaddress.ip_network(item))
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"{item!r} is not an IP address or network ({exc})") from None
            return networks
        return value

    @field_validator("database_url", "mock_database_url")
    @classmethod
    def _db_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("sqlite:///", "postgresql://", "postgresql+")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value or None

    @property
    def state_dir(self) -> Path:
        """Where this mode keeps its state (database, quota ledger, exports, backups, lock):
        DATA_DIR, or DATA_DIR/mock in mock mode, so a mock run never touches real state."""
        return self.data_dir / "mock" if self.use_mock_data else self.data_dir

    @property
    def db_url(self) -> str:
        configured = self.mock_database_url if self.use_mock_data else self.database_url
        return configured or f"sqlite:///{self.state_dir / 'cryptoagg.db'}"

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value or None

    @field_validator("upstream_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else None

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("must have no query, fragment or credentials")
        return value.rstrip("/")

    @field_validator("alert_webhook_url")
    @classmethod
    def _webhook_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not value.get_secret_value().startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("providers_file")
    @classmethod
    def _exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError("file does not exist")
        return value

    def api_key(self, provider: str) -> SecretStr | None:
        key: SecretStr | None = getattr(self, f"{provider}_api_key", None)
        return key

    def secrets(self) -> list[str]:
        """Every configured secret value, for log masking and leak tests: provider keys, the
        admin token, webhook URLs (they often carry a token; PROVIDERS_FILE's too) and the
        passwords in DATABASE_URL, MOCK_DATABASE_URL and REDIS_URL."""
        values = [self.api_key(p) for p in KEYED_PROVIDERS] + [
            self.admin_token,
            self.alert_webhook_url,
        ]
        found = [v.get_secret_value() for v in values if v is not None]
        for url in (self.database_url, self.mock_database_url, self.redis_url):
            password = urlsplit(url).password if url else None
            if password:  # as written in the URL and decoded
                found += {password, unquote(password)}
        with contextlib.suppress(ConfigError):  # a broken file is reported at start-up
            found += [rule.webhook_url for rule in self.providers_config().alerts]
        return found

    def provider_overrides(self) -> dict[str, ProviderOverride]:
        return self.providers_config().providers

    def providers_config(self) -> ProvidersFile:
        if self.providers_file is None:
            return ProvidersFile()
        try:
            raw = yaml.safe_load(self.providers_file.read_text(encoding="utf-8")) or {}
            return ProvidersFile.model_validate(raw)
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"PROVIDERS_FILE: cannot read YAML ({type(exc).__name__})") from None
        except ValidationError as exc:
            raise ConfigError(f"PROVIDERS_FILE: {_describe(exc)}") from None


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "value"
        parts.append(f"{where.upper() if '.' not in where else where}: {err['msg']}")
    return "; ".join(parts)


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings; raise one `ConfigError` that names the bad variable(s)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(f"invalid configuration: {_describe(exc)}") from None


def prepare_data_dir(settings: Settings) -> None:
    """Create DATA_DIR and its sub-folders (start-up)."""
    try:
        for sub in DATA_SUBDIRS:
            (settings.state_dir / sub).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"DATA_DIR: cannot create {settings.data_dir} ({exc.strerror})") from None
