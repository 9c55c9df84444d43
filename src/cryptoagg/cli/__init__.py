"""The `cryptoagg` command line (typer + rich). Every command enters the same bootstrap.

- `common`: settings with logging, the consoles, failures;
- `serve`: `serve`, `simulate`;
- `market`: `price`, `analyze`;
- `providers`: `providers` (list), `providers check`, `providers schema`, `providers plan`
  (with `checks`, the probes they send, and `schema`, the verdict on a payload's shape);
- `history`: `backfill`;
- `assets`: `assets refresh`;
- `storage`: `db upgrade`, `export`, `backup`, `restore`.
"""

from __future__ import annotations

import typer

from cryptoagg.cli.assets import assets_app
from cryptoagg.cli.common import errors
from cryptoagg.cli.history import backfill
from cryptoagg.cli.market import analyze, price
from cryptoagg.cli.providers import providers_app
from cryptoagg.cli.serve import serve, simulate
from cryptoagg.cli.storage import backup_command, db_app, export_command, restore_command
from cryptoagg.core.errors import ConfigError

app = typer.Typer(
    help="cryptoagg: free public crypto data behind one reliable API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(serve)
app.command()(simulate)
app.command()(price)
app.command()(backfill)
app.command("export")(export_command)
app.command("backup")(backup_command)
app.command("restore")(restore_command)
app.command()(analyze)
app.add_typer(providers_app, name="providers")
app.add_typer(assets_app, name="assets")
app.add_typer(db_app, name="db")


def main() -> None:
    try:
        app()
    except ConfigError as exc:
        errors.print(f"[red]error:[/red] {exc.message}")
        raise SystemExit(2) from None


__all__ = ["app", "main"]
