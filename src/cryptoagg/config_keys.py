"""Provider keys: every `<NAME>_API_KEY` of the environment or `.env`, whatever NAME is.

An adapter that sends a key reads it from `<NAME>_API_KEY` (`HttpProvider.key_variable`), so a
new keyed provider needs no settings field: the keys are collected here by their name's pattern
into `Settings.api_keys` (provider name -> key), and every one of them is a secret (masked in
logs). `COINGECKO_API_KEY`, `COINCAP_API_KEY`, `CRYPTOCOMPARE_API_KEY`, `MESSARI_API_KEY` and
`CRYPTOPANIC_API_KEY` are read this way. An empty value counts as unset.
"""

from __future__ import annotations

import os
import re
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import PydanticBaseSettingsSource

KEY_SUFFIX = "_api_key"
_KEY_NAME = re.compile(r"[a-z][a-z0-9_]*_api_key")


def is_key_name(name: str) -> bool:
    return _KEY_NAME.fullmatch(name.lower()) is not None


class ProviderKeysSource(PydanticBaseSettingsSource):
    """The environment's `<NAME>_API_KEY` variables as `<name>_api_key` entries.

    pydantic-settings reads only declared fields from the environment (extra `.env` entries
    and keyword arguments do reach the model), so this source adds the environment's keys;
    `collect_keys` then moves every such entry into `api_keys`."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return {name.lower(): value for name, value in os.environ.items() if is_key_name(name)}


def collect_keys(data: Any) -> Any:
    """The settings input with its `<name>_api_key` entries (keyword arguments, environment,
    `.env`, merged by precedence) moved into `api_keys` under the provider's name."""
    if not isinstance(data, dict):
        return data
    keys = dict(data.get("api_keys") or {})
    rest = {}
    for name, value in data.items():
        if not (isinstance(name, str) and is_key_name(name)):
            rest[name] = value
        elif value:
            keys.setdefault(name.lower().removesuffix(KEY_SUFFIX), value)
    return {**rest, "api_keys": keys}
