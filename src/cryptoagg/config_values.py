"""The value types of settings (config.py): what a valid origin list, network list, database,
Redis or public URL is. Each check raises `ValueError` with the reason, which `load_settings`
reports under the variable's name; a value is never echoed when it may be a secret.
"""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, SecretStr
from pydantic_settings import NoDecode

from cryptoagg.core.sentiment.labels import label_map

#: a browser origin: scheme, host and optional port, nothing else
_ORIGIN = re.compile(r"https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?")


def _comma_list(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _origins(value: object) -> object:
    value = _comma_list(value)
    if isinstance(value, list):
        for origin in value:
            if origin != "*" and not _ORIGIN.fullmatch(str(origin)):
                raise ValueError(
                    f"{origin!r} is not an origin (scheme://host[:port], no path) or *"
                )
    return value


def _networks(value: object) -> object:
    value = _comma_list(value)
    if isinstance(value, list):
        networks = []
        for item in value:
            try:
                networks.append(ipaddress.ip_network(item))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{item!r} is not an IP address or network ({exc})") from None
        return networks
    return value


def _database(value: str | None) -> str | None:
    if value and not value.startswith(("sqlite:///", "postgresql://", "postgresql+")):
        raise ValueError("must start with sqlite:/// or postgresql://")
    return value or None


def _redis(value: str | None) -> str | None:
    if value and not value.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("must start with redis://, rediss:// or unix://")
    return value or None


def _http(value: str | None) -> str | None:
    if value and not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value.rstrip("/") if value else None


def _public(value: str | None) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("must have no query, fragment or credentials")
    return value.rstrip("/")


def _webhook(value: SecretStr | None) -> SecretStr | None:
    if value is None or not value.get_secret_value():
        return None
    if not value.get_secret_value().startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value


def _existing(value: Path | None) -> Path | None:
    if value is not None and not value.is_file():
        raise ValueError("file does not exist")
    return value


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


LogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(_upper)
]
#: a comma list of origins (or *)
Origins = Annotated[list[str], NoDecode, BeforeValidator(_origins)]
#: a comma list of addresses and CIDR networks
Networks = Annotated[
    list[ipaddress.IPv4Network | ipaddress.IPv6Network], NoDecode, BeforeValidator(_networks)
]
DatabaseUrl = Annotated[str | None, AfterValidator(_database)]
RedisUrl = Annotated[str | None, AfterValidator(_redis)]
#: http(s), no trailing slash
HttpUrl = Annotated[str | None, AfterValidator(_http)]
#: http(s) with a host; no query, fragment or credentials; no trailing slash
PublicUrl = Annotated[str | None, AfterValidator(_public)]
WebhookUrl = Annotated[SecretStr | None, AfterValidator(_webhook)]
ExistingFile = Annotated[Path | None, AfterValidator(_existing)]


#: what SENTIMENT_MODEL must hold (services/sentiment_onnx.py reads them)
MODEL_FILES = ("model.onnx", "tokenizer.json", "config.json")


def check_model_dir(path: Path) -> None:
    """A directory with the three files of a Hugging Face export and classes we can read
    (SENTIMENT_MODEL), checked before anything is built; ValueError says what is wrong."""
    missing = [f for f in MODEL_FILES if not (path / f).is_file()]
    if not path.is_dir() or missing:
        raise ValueError(f"{path} is not a model directory (no {', '.join(missing)})")
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"config.json cannot be read ({type(exc).__name__})") from None
    label_map(config.get("id2label") if isinstance(config, dict) else None)
