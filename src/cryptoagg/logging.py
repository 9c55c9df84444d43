"""structlog set-up: console or JSON lines, and redaction of secrets.

Nothing logged may carry a secret: URLs pass through `redact_url`, and a processor masks any
configured secret value that still slips into an event.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import structlog

SECRET_PARAMS = frozenset(
    {
        "apikey",
        "api_key",
        "key",
        "auth_token",
        "token",
        "access_token",
        # what CoinGecko clients send to the CoinGecko-compatible routes
        "x_cg_demo_api_key",
        "x_cg_pro_api_key",
    }
)
REDACTED = "***"


def redact_url(url: str) -> str:
    """Mask the values of credential-like query parameters and any user:password part."""
    parts = urlsplit(url)
    query = [
        (k, REDACTED if k.lower() in SECRET_PARAMS else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe=","), ""))


class _SecretMasker:
    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = [s for s in secrets if len(s) >= 4]

    def __call__(
        self, _logger: Any, _name: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        if not self._secrets:
            return event
        for key, value in list(event.items()):
            if isinstance(value, str):
                masked = value
                for secret in self._secrets:
                    masked = masked.replace(secret, REDACTED)
                event[key] = masked
        return event


class _AccessLogRedactor(logging.Filter):
    """uvicorn's access log line holds the request's path and query string, where clients
    may put their own keys: credential-like parameters are masked like upstream URLs."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > 2 and "?" in str(args[2]):
            record.args = (*args[:2], redact_url(str(args[2])), *args[3:])
        return True


#: third-party loggers whose INFO lines would repeat upstream URLs (with keys) or add noise
QUIET_LOGGERS = ("httpx", "httpcore", "hpack")


def configure_logging(
    level: str = "INFO", fmt: str = "console", secrets: Iterable[str] = ()
) -> None:
    """Configure structlog and route the standard library's loggers (uvicorn's) through the
    same renderer and secret masking."""
    numeric = logging.getLevelNamesMapping()[level.upper()]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _SecretMasker(secrets),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
        logging.getLogger(name).setLevel(logging.NOTSET)  # undo an earlier uvicorn dictConfig
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _AccessLogRedactor) for f in access.filters):
        access.addFilter(_AccessLogRedactor())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
