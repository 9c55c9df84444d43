"""Settings from the environment (and `.env`), validated once at start-up.

Every variable of SPEC §3 is here; units are in the names (`_s` seconds). A bad value stops
start-up with one `ConfigError` naming the variable, never echoing a secret. What a valid URL,
origin or network is lives in config_values.py, the providers' keys (`<NAME>_API_KEY`) are
collected by config_keys.py and PROVIDERS_FILE is read by providers_file.py.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from cryptoagg.config_keys import ProviderKeysSource, collect_keys
from cryptoagg.config_values import (
    DatabaseUrl,
    ExistingFile,
    HttpUrl,
    LogLevel,
    Networks,
    Origins,
    PublicUrl,
    RedisUrl,
    WebhookUrl,
    check_model_dir,
)
from cryptoagg.core.errors import ConfigError
from cryptoagg.providers_file import (
    ProviderOverride,
    ProvidersFile,
    describe_errors,
    read_providers_file,
)

DATA_SUBDIRS = ("exports", "backups", "logs")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    port: int = Field(default=7860, ge=1, le=65535)
    host: str = "0.0.0.0"
    use_mock_data: bool = False
    #: unset: SQLite at DATA_DIR/cryptoagg.db (so the documented default ./data/cryptoagg.db)
    database_url: DatabaseUrl = None
    #: the database of mock mode (unset: SQLite at DATA_DIR/mock/cryptoagg.db); mock mode
    #: never opens DATABASE_URL, so simulated data never mixes with real data
    mock_database_url: DatabaseUrl = None
    #: several replicas: cache, budgets, breakers, quota ledger, WebSocket fan-out and the
    #: collectors' leader shared through Redis (unset: all in this process)
    redis_url: RedisUrl = None
    #: every Redis key starts with it (several deployments on one Redis)
    redis_prefix: str = Field(default="cryptoagg:", min_length=1, max_length=64)
    #: a Redis command slower than this counts as Redis down (the replica falls back)
    redis_timeout_s: float = Field(default=0.5, gt=0, le=30)
    redis_pool_size: int = Field(default=64, ge=2, le=10_000)
    #: longest pause between reconnection attempts while Redis is down
    redis_reconnect_max_s: float = Field(default=5.0, gt=0, le=300)
    #: the shared cache's load lock: how long other replicas wait for the one loading a key
    redis_lock_lease_s: float = Field(default=15.0, gt=0, le=300)
    #: how often a replica reads the ledger totals and cool-downs the others wrote (every
    #: send is checked against Redis anyway; this keeps /api/providers and admission current)
    redis_sync_s: float = Field(default=1.0, gt=0, le=60)
    data_dir: Path = Path("./data")
    providers_file: ExistingFile = None
    upstream_base_url: HttpUrl = None

    #: provider -> key, from each `<NAME>_API_KEY` (config_keys.py: COINGECKO_API_KEY, …)
    api_keys: dict[str, SecretStr] = {}

    admin_token: SecretStr | None = None
    enable_auto_discovery: bool = False
    #: `market` (market lexicon and phrases, with VADER's general words), `vader` (VADER
    #: alone) or `onnx` (a local model, SENTIMENT_MODEL; the `model` extra); `transformers`,
    #: the name of earlier versions, means `onnx`
    sentiment_backend: Literal["market", "vader", "onnx", "transformers"] = "market"
    #: the model directory of SENTIMENT_BACKEND=onnx: model.onnx, tokenizer.json, config.json
    sentiment_model: Path | None = None
    #: tokens of a text the model reads (the rest is cut) and texts per model call
    sentiment_max_tokens: int = Field(default=128, ge=8, le=4096)
    sentiment_batch: int = Field(default=32, ge=1, le=1024)
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
    log_level: LogLevel = "INFO"
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
    trusted_proxies: Networks = []
    #: deprecated (use TRUSTED_PROXIES): trust whatever peer connects as a proxy
    trust_proxy_headers: bool = False
    #: origins whose pages may call the API (comma list, or *); empty: same origin only
    cors_origins: Origins = []
    collectors: bool = True
    #: which lock elects the one collecting process among replicas: `auto` (PostgreSQL's
    #: advisory lock, or a file lock with SQLite) or `redis` (a lease in REDIS_URL, for
    #: PostgreSQL behind a transaction-mode pooler); collectors/leader.py says why
    leader_lock: Literal["auto", "redis"] = "auto"
    #: a process that does not collect tries the leader lock this often
    leader_retry_s: float = Field(default=15.0, gt=0, le=3600)
    #: the leader checks its lock every third of this (and stops collecting when it is
    #: gone); a Redis lease lives this long unless renewed; a vanished host's PostgreSQL
    #: lock is freed after about this long
    leader_lease_s: float = Field(default=15.0, ge=1, le=3600)
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
    alert_webhook_url: WebhookUrl = None
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
    public_url: PublicUrl = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The usual sources, and every `<NAME>_API_KEY` of the environment after its own."""
        keys = ProviderKeysSource(settings_cls)
        return init_settings, env_settings, keys, dotenv_settings, file_secret_settings

    @model_validator(mode="before")
    @classmethod
    def _provider_keys(cls, data: Any) -> Any:
        return collect_keys(data)

    @field_validator("leader_lock")
    @classmethod
    def _leader_lock(cls, value: str, info: ValidationInfo) -> str:
        if value == "redis" and not info.data.get("redis_url"):
            raise ValueError("redis needs REDIS_URL")
        return value

    @field_validator("sentiment_model")
    @classmethod
    def _sentiment_model(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        """Required by SENTIMENT_BACKEND=onnx, and checked before anything is built: a
        directory with the three files of a Hugging Face export and classes we can read."""
        if info.data.get("sentiment_backend") not in ("onnx", "transformers"):
            return value
        if value is None:
            raise ValueError("required with SENTIMENT_BACKEND=onnx (a model directory)")
        check_model_dir(value)
        return value

    @property
    def state_dir(self) -> Path:
        """Where this mode keeps its state (database, quota ledger, exports, backups, lock):
        DATA_DIR, or DATA_DIR/mock in mock mode, so a mock run never touches real state."""
        return self.data_dir / "mock" if self.use_mock_data else self.data_dir

    @property
    def db_url(self) -> str:
        configured = self.mock_database_url if self.use_mock_data else self.database_url
        return configured or f"sqlite:///{self.state_dir / 'cryptoagg.db'}"

    def api_key(self, provider: str) -> SecretStr | None:
        """The provider's key (`<NAME>_API_KEY`), None when unset or empty."""
        return self.api_keys.get(provider)

    def secrets(self) -> list[str]:
        """Every configured secret value, for log masking and leak tests: provider keys, the
        admin token, webhook URLs (they often carry a token; PROVIDERS_FILE's too) and the
        passwords in DATABASE_URL, MOCK_DATABASE_URL and REDIS_URL."""
        values = [self.api_keys[name] for name in sorted(self.api_keys)] + [
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
        """PROVIDERS_FILE, read and validated now (providers_file.py)."""
        return read_providers_file(self.providers_file)


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings; raise one `ConfigError` that names the bad variable(s)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(f"invalid configuration: {describe_errors(exc)}") from None


def prepare_data_dir(settings: Settings) -> None:
    """Create DATA_DIR and its sub-folders (start-up)."""
    try:
        for sub in DATA_SUBDIRS:
            (settings.state_dir / sub).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"DATA_DIR: cannot create {settings.data_dir} ({exc.strerror})") from None
