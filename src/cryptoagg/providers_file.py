"""PROVIDERS_FILE: the YAML file of per-provider overrides (enabled, priority, base URL,
limits), pools (strategy, members, weights) and incident alert rules, read and validated on
demand (`Settings.providers_config`). A broken file is one `ConfigError` naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cryptoagg.core.errors import ConfigError


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


def read_providers_file(path: Path | None) -> ProvidersFile:
    """The file at `path` (None: no file, nothing overridden)."""
    if path is None:
        return ProvidersFile()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return ProvidersFile.model_validate(raw)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"PROVIDERS_FILE: cannot read YAML ({type(exc).__name__})") from None
    except ValidationError as exc:
        raise ConfigError(f"PROVIDERS_FILE: {describe_errors(exc)}") from None


def describe_errors(exc: ValidationError) -> str:
    """Each error as `WHERE: message`; a top-level setting's name upper-cased, as its
    environment variable is spelt."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "value"
        parts.append(f"{where.upper() if '.' not in where else where}: {err['msg']}")
    return "; ".join(parts)
