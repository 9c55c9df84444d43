"""structlog set-up: console or JSON lines, and redaction of secrets.

Nothing logged may carry a secret: URLs pass through `redact_url`, and one processor
(`SecretScrubber`) rewrites every record just before it is rendered, whichever its source
(structlog or the standard library: uvicorn, alembic) and whichever the format: configured
secrets, credential headers and URL passwords are masked everywhere in it, tracebacks
included. Tracebacks are Python's plain text (frames and source lines) in both formats, never
a dump of local variables (where request headers would be).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Mapping, MutableMapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode, urlsplit, urlunsplit
from uuid import UUID

import structlog
from structlog.dev import plain_traceback
from structlog.processors import format_exc_info

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


#: request and response headers that carry credentials, lower case with `-`; every header
#: whose name ends in `api-key` (`x-cg-demo-api-key`, `x-messari-api-key`, …) counts too
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)
#: field names (of a logged mapping, at any depth) whose values are credentials. Unlike
#: SECRET_PARAMS in URLs, a bare `key` is not one: log fields name cache keys that way.
SECRET_FIELDS = frozenset(
    {"apikey", "api-key", "auth-token", "token", "access-token", "admin-token", "password"}
)
#: shorter configured secrets are not masked: replacing every "abc" would garble the logs
MIN_SECRET_CHARS = 4
#: deeper than this, a nested value is logged as its (scrubbed) repr
_MAX_DEPTH = 12
_MASKED = frozenset({REDACTED, quote(REDACTED, safe="")})
#: values that cannot hold a secret and keep their type (JSON numbers, not strings)
_PLAIN = (int, float, Decimal, datetime, date, time, timedelta, UUID, Enum, type(None))

_HEADER_NAME = (
    r"proxy-authorization|authorization|set-cookie|cookie|x-api-key|[a-z0-9_-]*api[-_]?key"
)
#: a credential header (or parameter) inside text, in the forms text takes: a repr of a dict
#: or an ASGI header pair (quoted), an HTTP header line (to the end of the line) and
#: `name=value` (a query parameter or a console field; an auth scheme word is kept with it)
_HEADER_IN_TEXT = re.compile(
    rf"""(?ix)
    (?<![a-z0-9_-])(?:{_HEADER_NAME})\b
    (?:
        ['"]?\s*[:=,]\s*b?(?P<q>['"])(?P<quoted>(?:\\.|(?!(?P=q))[^\\\n])*)(?P=q)
      | \s*:[ \t]*(?P<line>[^\r\n]+)
      | =(?P<param>(?:(?:bearer|basic|apikey|token|digest)[ \t]+)?[^\s&'",;)\]}}]+)
    )
    """
)
#: a credential-like query parameter in a URL anywhere in text (see `redact_url`)
_PARAM_IN_TEXT = re.compile(
    r"(?i)[?&](?:" + "|".join(sorted(SECRET_PARAMS)) + r")=(?P<param>[^&#\s'\"<>]+)"
)
#: the password of `scheme://user:password@host` (a database or Redis URL)
_USERINFO_IN_TEXT = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]*:(?P<pw>[^/\s@'\"]+)@")


def is_secret_header(name: str | bytes) -> bool:
    """Whether a header (or field) of this name carries a credential, in any case and with
    `_` or `-`: `Authorization`, `X-Api-Key`, `x_cg_demo_api_key`, `apiKey`, …"""
    if isinstance(name, bytes):
        name = name.decode("latin-1")
    key = name.strip().lower().replace("_", "-")
    return key in SECRET_HEADERS or key in SECRET_FIELDS or key.endswith(("api-key", "apikey"))


def secret_forms(secrets: Iterable[str]) -> list[str]:
    """The strings to mask for these configured secrets: each value, its URL-encoded forms
    and, for a URL (a database, Redis or webhook URL), its password and credential-like
    query values on their own. Longest first, so a longer secret is masked whole."""
    forms: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        candidates = {secret, quote(secret, safe=""), quote_plus(secret)}
        if "://" in secret:
            parts = urlsplit(secret)
            if parts.password:
                candidates |= {parts.password, unquote(parts.password)}
            candidates |= {
                value
                for name, value in parse_qsl(parts.query, keep_blank_values=True)
                if name.lower() in SECRET_PARAMS
            }
        forms |= {c for c in candidates if len(c) >= MIN_SECRET_CHARS}
    return sorted(forms, key=lambda s: (-len(s), s))


class SecretScrubber:
    """The one processor every log record passes before it is rendered (both formats, both
    structlog's and the standard library's records, uvicorn's included).

    It renders `exc_info` into an `exception` string first (Python's plain traceback: frames
    and source lines, never local variables), then rewrites every value of the record, at any
    depth (dicts, lists, tuples, sets, other objects through their repr): each configured
    secret in any string is masked, credential headers are masked by name in mappings and in
    `(name, value)` pairs, and in text (the traceback's exception messages included) header
    lines, quoted header pairs, credential-like URL parameters and URL passwords are masked.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms = secret_forms(secrets)
        self._values = re.compile("|".join(map(re.escape, forms))) if forms else None

    def __call__(
        self, logger: Any, name: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        if event.get("exc_info"):
            event = format_exc_info(logger, name, event)
        else:
            event.pop("exc_info", None)
        for key, value in list(event.items()):
            if key in ("_record", "_from_structlog"):  # ProcessorFormatter's, not rendered
                continue
            event[key] = REDACTED if is_secret_header(key) else self.scrub(value)
        return event

    def scrub(self, value: Any, depth: int = 0) -> Any:
        """`value` with every secret masked (same shape; other objects become their repr)."""
        if isinstance(value, str):
            return self.scrub_text(value)
        if isinstance(value, _PLAIN):
            return value
        if isinstance(value, bytes | bytearray):
            text = bytes(value).decode("utf-8", "surrogateescape")
            return self.scrub_text(text).encode("utf-8", "surrogateescape")
        if depth < _MAX_DEPTH:
            if isinstance(value, Mapping):
                return {
                    self._key(k): (
                        REDACTED
                        if isinstance(k, str | bytes) and is_secret_header(k)
                        else self.scrub(v, depth + 1)
                    )
                    for k, v in value.items()
                }
            if isinstance(value, list | tuple):
                if (
                    len(value) == 2
                    and isinstance(value[0], str | bytes)
                    and is_secret_header(value[0])
                ):  # a header pair: ASGI's (b"authorization", b"Bearer …"), httpx's
                    items = [self.scrub(value[0], depth + 1), REDACTED]
                else:
                    items = [self.scrub(item, depth + 1) for item in value]
                return items if isinstance(value, list) else tuple(items)
            if isinstance(value, set | frozenset):
                return [self.scrub(item, depth + 1) for item in value]
        return self.scrub_text(repr(value))

    def _key(self, key: Any) -> Any:
        if isinstance(key, str):
            return self.scrub_text(key)
        if isinstance(key, (bytes, *_PLAIN)):
            return self.scrub(key)
        return self.scrub_text(repr(key))  # a tuple key may hold anything

    def scrub_text(self, text: str) -> str:
        if self._values is not None:
            text = self._values.sub(REDACTED, text)
        # cheap tests first: most strings logged hold none of these forms
        if "@" in text and "://" in text:
            text = _USERINFO_IN_TEXT.sub(_mask_groups, text)
        lower = text.lower()
        if "=" in text and ("key" in lower or "token" in lower):
            text = _PARAM_IN_TEXT.sub(_mask_groups, text)
        if "key" in lower or "auth" in lower or "cookie" in lower:
            text = _HEADER_IN_TEXT.sub(_mask_groups, text)
        return text


def _mask_groups(match: re.Match[str]) -> str:
    """The match with its secret group (the one that took part) replaced by REDACTED."""
    whole = match.group(0)
    start = match.start(0)
    for group, value in match.groupdict().items():
        if group == "q" or value is None:
            continue
        if not value.strip() or value in _MASKED:
            return whole
        s, e = match.start(group) - start, match.end(group) - start
        return whole[:s] + REDACTED + whole[e:]
    return whole


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
    same scrubbing and renderer.

    Every record, structlog's or a standard library one, reaches the one handler's
    `ProcessorFormatter`, whose chain ends `SecretScrubber` → renderer: nothing is rendered
    before it is scrubbed, and exceptions are rendered (as plain text) by the scrubber itself.
    """
    numeric = logging.getLevelNamesMapping()[level.upper()]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        # the scrubber has already turned exc_info into plain text; should exc_info reach the
        # renderer anyway, plain_traceback (not Rich's) shows no local variables
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=plain_traceback
        )
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
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
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                SecretScrubber(secrets),
                renderer,
            ],
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
