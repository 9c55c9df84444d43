"""The `cryptoagg` command line (typer + rich). Every command enters the same bootstrap.

- `common`: settings with logging, the consoles, JSON output, progress, failures, exit codes;
- `format`: how numbers are shown (prices, money, counts, durations);
- `serve`: `serve`, `simulate`;
- `prices`: `price`, `market`; `analyze`: `analyze`;
- `providers`: `providers` (list), `providers check`, `providers schema`, `providers plan`
  (with `checks`, the probes they send, `schema`, the verdict on a payload's shape, `known`,
  the stored health checks the list shows, and `provider_tables`, their tables and JSON);
- `history`: `backfill`;
- `assets`: `assets refresh`;
- `storage`: `db upgrade`, `export`, `backup`, `restore`.

Help is click's plain layout (`rich_markup_mode=None`): paragraphs wrapped to the terminal as
sentences, flags without a type, a metavar for every value.
"""

from __future__ import annotations

import typer

from cryptoagg.cli.analyze import analyze
from cryptoagg.cli.assets import assets_app
from cryptoagg.cli.common import USAGE, fail
from cryptoagg.cli.help import Command
from cryptoagg.cli.history import backfill
from cryptoagg.cli.prices import market, price
from cryptoagg.cli.providers import providers_app
from cryptoagg.cli.serve import serve, simulate
from cryptoagg.cli.storage import backup_command, db_app, export_command, restore_command
from cryptoagg.core.errors import ConfigError

app = typer.Typer(
    help="cryptoagg: free public crypto data behind one reliable API.\n\n"
    "Results go to stdout (a table, or one JSON document with --json); progress and errors "
    "go to stderr. Exit status: 0 when everything asked for was answered; 1 for a partial "
    "answer, something not found or no provider answering; 2 for a usage error. NO_COLOR "
    "turns colours and styles off; the width follows the terminal (or COLUMNS).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command(cls=Command, short_help="Start the API and dashboard server.")(serve)
app.command(cls=Command, short_help="Run the provider simulator.")(simulate)
app.command(cls=Command, short_help="Show consensus prices with their spread and sources.")(price)
app.command(cls=Command, short_help="Show the top assets: price, 24h change, market cap, volume.")(
    market
)
app.command(cls=Command, short_help="Show indicators, levels and the trend of an asset.")(analyze)
app.command(cls=Command, short_help="Fill an asset's missing candles from the providers.")(backfill)
app.command("export", cls=Command, short_help="Export a table to a CSV or Parquet file.")(
    export_command
)
app.command("backup", cls=Command, short_help="Back up the SQLite database.")(backup_command)
app.command("restore", cls=Command, short_help="Replace the SQLite database with a backup.")(
    restore_command
)
app.add_typer(providers_app, name="providers")
app.add_typer(assets_app, name="assets")
app.add_typer(db_app, name="db")


def main() -> None:
    try:
        app()
    except ConfigError as exc:
        fail(exc.message, USAGE)


__all__ = ["app", "main"]
