"""What every command shares: settings with logging set up, the two consoles, failures."""

from __future__ import annotations

from decimal import Decimal
from typing import NoReturn

from rich.console import Console
from rich.markup import escape

from cryptoagg.config import Settings, load_settings
from cryptoagg.logging import configure_logging

console = Console()
errors = Console(stderr=True)


def settings_for(**overrides: object) -> Settings:
    """Settings from the environment, with the options given (None: not given)."""
    settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    configure_logging(settings.log_level, settings.log_format, settings.secrets())
    return settings


def quiet_settings(mock: bool) -> Settings:
    """For one-shot commands: warnings only, no background collectors."""
    return settings_for(use_mock_data=True if mock else None, log_level="WARNING", collectors=False)


def money(value: Decimal) -> str:
    if value >= 1:
        return f"{value:,.2f}"
    return f"{value:.6g}"


def fail(message: str, code: int = 1) -> NoReturn:
    """Print `error: message` on stderr and exit with `code`."""
    errors.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    raise SystemExit(code)
