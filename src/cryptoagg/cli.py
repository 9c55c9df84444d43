"""The `cryptoagg` command line (typer + rich). Every command enters the same bootstrap."""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from cryptoagg.api.app import create_app
from cryptoagg.bootstrap import Container, build, check_settings
from cryptoagg.config import Settings, load_settings, prepare_data_dir
from cryptoagg.core.errors import ConfigError, CryptoAggError
from cryptoagg.logging import configure_logging
from cryptoagg.sim.server import serve_sim
from cryptoagg.storage.db import current_revision, make_engine, upgrade

app = typer.Typer(
    help="cryptoagg: free public crypto data behind one reliable API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True)


def _settings(**overrides: object) -> Settings:
    settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    configure_logging(settings.log_level, settings.log_format, settings.secrets())
    return settings


def _money(value: Decimal) -> str:
    if value >= 1:
        return f"{value:,.2f}"
    return f"{value:.6g}"


@app.command()
def serve(
    mock: Annotated[bool, typer.Option("--mock", help="Serve from the built-in simulator")] = False,
    host: Annotated[str | None, typer.Option(help="Listen address (HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port (PORT)")] = None,
) -> None:
    """Start the API and dashboard server."""
    settings = _settings(use_mock_data=True if mock else None, host=host, port=port)
    check_settings(settings)
    console.print(f"cryptoagg listening on http://{settings.host}:{settings.port}")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        workers=1,
        log_config=None,
        timeout_keep_alive=5,
    )


@app.command()
def simulate(
    port: Annotated[int, typer.Option(help="Listen port")] = 9000,
    host: Annotated[str, typer.Option(help="Listen address")] = "127.0.0.1",
    seed: Annotated[int, typer.Option(help="Random seed for the price walk")] = 1,
) -> None:
    """Run the provider simulator (point UPSTREAM_BASE_URL at it)."""
    configure_logging("WARNING")
    console.print(f"simulator on http://{host}:{port}  (UPSTREAM_BASE_URL=http://{host}:{port})")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_sim(host, port, seed))


async def _prices(container: Container, symbols: list[str]) -> Table:
    table = Table(title="Consensus prices (USD)")
    for column in ("asset", "price", "band (low - high)", "spread", "sources", "dropped"):
        table.add_column(column)
    for symbol in symbols:
        try:
            report = (await container.prices.price(symbol)).value
        except CryptoAggError as exc:
            table.add_row(symbol, "[red]unavailable[/red]", exc.message, "", "", "")
            continue
        c = report.consensus
        table.add_row(
            f"{report.asset.symbol} ({report.asset.id})",
            _money(c.price),
            f"{_money(c.low)} - {_money(c.high)}",
            f"{c.spread_bps} bps",
            ", ".join(c.sources),
            ", ".join(f"{d.quote.provider} ({d.reason})" for d in c.dropped) or "-",
        )
    return table


@app.command()
def price(
    symbols: Annotated[list[str], typer.Argument(help="Tickers or asset ids, e.g. BTC ethereum")],
    mock: Annotated[bool, typer.Option("--mock", help="Ask the built-in simulator")] = False,
) -> None:
    """Show consensus prices with their confidence band and sources."""
    settings = _settings(
        use_mock_data=True if mock else None, log_level="WARNING", collectors=False
    )

    async def run() -> Table:
        async with build(settings) as container:
            return await _prices(container, symbols)

    console.print(asyncio.run(run()))


@app.command()
def providers(
    mock: Annotated[bool, typer.Option("--mock", help="Use the built-in simulator")] = False,
) -> None:
    """List providers, their capabilities and whether they are enabled."""
    settings = _settings(
        use_mock_data=True if mock else None, log_level="WARNING", collectors=False
    )

    async def run() -> Table:
        async with build(settings) as container:
            table = Table(title="Providers")
            for column in ("provider", "state", "capabilities", "key"):
                table.add_column(column)
            for s in container.status.providers_status():
                state = s.state if s.enabled else f"[yellow]disabled: {s.disabled_reason}[/yellow]"
                key = "required" if s.requires_key else "-"
                table.add_row(s.name, state, ", ".join(s.capabilities), key)
            return table

    console.print(asyncio.run(run()))


db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the latest revision (also done at every start)."""
    settings = _settings(log_level="WARNING")
    prepare_data_dir(settings)
    engine = make_engine(settings.db_url)
    try:
        upgrade(engine)
        console.print(f"database at revision {current_revision(engine)} ({engine.dialect.name})")
    except SQLAlchemyError as exc:
        errors.print(f"[red]error:[/red] cannot migrate the database ({type(exc).__name__})")
        raise SystemExit(1) from None
    finally:
        engine.dispose()


def main() -> None:
    try:
        app()
    except ConfigError as exc:
        errors.print(f"[red]error:[/red] {exc.message}")
        raise SystemExit(2) from None
