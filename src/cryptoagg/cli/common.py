"""What every command shares: settings with logging set up, the two consoles, JSON output,
progress bars, failures and exit codes.

Conventions: results go to stdout (a table, or with `--json` exactly one JSON document);
progress, warnings and errors go to stderr. Exit codes: 0 everything asked for was answered,
1 a partial result, something not found or no provider answered, 2 a usage error (bad option,
unknown name, bad configuration).
"""

from __future__ import annotations

import os
import sys
from decimal import Decimal
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, ProgressColumn

from cryptoagg.config import Settings, load_settings
from cryptoagg.logging import configure_logging

#: exit codes
OK = 0
PARTIAL = 1
USAGE = 2

MockOption = Annotated[
    bool,
    typer.Option("--mock", help="Ask the built-in provider simulator instead of the providers."),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document instead of a table.")
]


def _console(*, stderr: bool) -> Console:
    # NO_COLOR (no-color.org): rich drops colours by itself; we drop every other style too,
    # so the output holds no escape sequence at all
    plain = bool(os.environ.get("NO_COLOR"))
    return Console(stderr=stderr, color_system=None if plain else "auto")


def out() -> Console:
    """A console on stdout, made for this command (it reads COLUMNS and NO_COLOR now)."""
    return _console(stderr=False)


def err() -> Console:
    """A console on stderr: progress, warnings, errors."""
    return _console(stderr=True)


def settings_for(**overrides: object) -> Settings:
    """Settings from the environment, with the options given (None: not given)."""
    settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    configure_logging(settings.log_level, settings.log_format, settings.secrets())
    return settings


def quiet_settings(mock: bool) -> Settings:
    """For one-shot commands: warnings only, no background collectors."""
    return settings_for(use_mock_data=True if mock else None, log_level="WARNING", collectors=False)


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def emit_json(data: Any) -> None:
    """`data` as one JSON document on stdout: Decimals as numbers, times in UTC with `Z`."""
    text = orjson.dumps(data, default=_json_default, option=orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z)
    sys.stdout.write(text.decode() + "\n")
    sys.stdout.flush()


def progress(*columns: str | ProgressColumn) -> Progress:
    """A progress display on stderr, shown only when stderr is a terminal (piped or
    redirected, it would leave blank lines and control codes behind)."""
    console = err()
    return Progress(*columns, console=console, transient=True, disable=not console.is_terminal)


def warn(message: str) -> None:
    """`warning: message` on stderr (markup-safe)."""
    err().print(f"[yellow]warning:[/yellow] {escape(message)}", soft_wrap=True)


def error(message: str) -> None:
    """`error: message` on stderr (markup-safe); the command goes on."""
    err().print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)


def fail(message: str, code: int = PARTIAL) -> NoReturn:
    """Print `error: message` on stderr and exit with `code`."""
    error(message)
    raise SystemExit(code)
