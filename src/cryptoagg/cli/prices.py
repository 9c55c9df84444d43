"""`cryptoagg price` (consensus prices) and `cryptoagg market` (the assembled listing).

Both answer what the API answers (`--json` prints the bodies of `/api/prices` and
`/api/market`, plus `errors`), from the same services, in a table that fits 80 columns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from cryptoagg.api.routes.market import market_body, price_body
from cryptoagg.bootstrap import Container, build
from cryptoagg.cli import format as fmt
from cryptoagg.cli.common import (
    OK,
    PARTIAL,
    JsonOption,
    MockOption,
    emit_json,
    err,
    error,
    out,
    quiet_settings,
    warn,
)
from cryptoagg.core.assets import Asset
from cryptoagg.core.errors import AmbiguousSymbol, NoProviderAvailable, UnknownAsset
from cryptoagg.services.context import Served
from cryptoagg.services.market import MarketReport
from cryptoagg.services.prices import PriceReport, Prices

#: from this terminal width on, `price` shows the band's low and high too
BAND_FROM_WIDTH = 110
#: marks on a source's name in the `price` table, and what each says
ASSUMED_MARK, RECEIVED_MARK = "*", "~"
MARKS = {
    ASSUMED_MARK: "converted at an assumed stablecoin rate",
    RECEIVED_MARK: "quote time is when it was received",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """Something asked for and not answered: an unknown or ambiguous name, an asset no
    provider had a fresh price for, or no provider at all (`query` None)."""

    query: str | None
    code: str
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"query": self.query, "code": self.code, "message": self.message}


T = TypeVar("T")


@dataclass(slots=True)
class Answer(Generic[T]):
    served: Served[T] | None = None
    problems: list[Problem] = field(default_factory=list)
    #: providers disabled by configuration (no key): not worth a warning on every run
    disabled: set[str] = field(default_factory=set)

    @classmethod
    def for_(cls, container: Container) -> Answer[T]:
        return cls(disabled={p.name for p in container.providers if p.disabled_reason})


def _resolve(container: Container, queries: Sequence[str], problems: list[Problem]) -> list[Asset]:
    found = []
    for query in queries:
        try:
            found.append(container.assets.resolve(query).asset)
        except (UnknownAsset, AmbiguousSymbol) as exc:
            problems.append(Problem(query, exc.code, exc.message))
    return found


def _not_priced(asset_ids: Sequence[str]) -> list[Problem]:
    return [
        Problem(i, "no_fresh_price", f"no provider has a fresh price for {i}") for i in asset_ids
    ]


def _report(answer: Answer[Any]) -> int:
    """Errors and unanswering providers on stderr; the exit code."""
    for problem in answer.problems:
        error(problem.message)
    if answer.served is not None:
        for name, reason in answer.served.unavailable.items():
            if name not in answer.disabled:
                warn(f"{name} did not answer ({reason})")
    return PARTIAL if answer.problems or answer.served is None else OK


# -- price -------------------------------------------------------------------------------------


async def _prices(container: Container, queries: Sequence[str]) -> Answer[Prices]:
    answer: Answer[Prices] = Answer.for_(container)
    assets = _resolve(container, queries, answer.problems)
    if not assets:
        return answer
    try:
        answer.served = await container.prices.prices([a.id for a in assets])
    except NoProviderAvailable as exc:
        answer.problems.append(Problem(None, exc.code, exc.message))
        return answer
    answer.problems.extend(_not_priced(answer.served.value.missing))
    return answer


def _asset_cell(asset: Asset) -> str:
    return f"{escape(asset.symbol)} ({escape(asset.id)})"


def _sources(report: PriceReport) -> tuple[str, set[str]]:
    """The sources of a consensus, each marked when its quote was converted at an assumed
    stablecoin rate or carries the time it was received; and the marks used."""
    by_mark = {
        ASSUMED_MARK: set(report.assumed_rate_sources()),
        RECEIVED_MARK: set(report.received_sources()),
    }
    names = [
        name + "".join(mark for mark, marked in by_mark.items() if name in marked)
        for name in report.consensus.sources
    ]
    return ", ".join(names), {mark for mark, marked in by_mark.items() if marked}


def _price_table(reports: Sequence[Served[PriceReport]], width: int) -> Table:
    band = width >= BAND_FROM_WIDTH
    sources = [_sources(served.value) for served in reports]
    marks: set[str] = set().union(*(used for _, used in sources))
    notes = [f"{mark} {MARKS[mark]}" for mark in MARKS if mark in marks]
    table = Table(
        title="Consensus prices (USD)",
        caption="\n".join(
            ["spread: the width of the sources' band; dropped: quotes left out", *notes]
        ),
    )
    table.add_column("asset")
    table.add_column("price", justify="right")
    if band:
        table.add_column("band (low - high)", justify="right")
    table.add_column("spread", justify="right")
    table.add_column("sources", min_width=len("cryptocompare,"))
    table.add_column("dropped")
    for served, (named, _) in zip(reports, sources, strict=True):
        report = served.value
        c = report.consensus
        places = fmt.decimals_for(c.price)
        price = fmt.price(c.price, places)
        if served.stale:
            price += "\n[yellow]stale[/yellow]"
        cells = [_asset_cell(report.asset), price]
        if band:
            cells.append(f"{fmt.price(c.low, places)} - {fmt.price(c.high, places)}")
        dropped = ", ".join(f"{d.quote.provider} ({d.reason})" for d in c.dropped)
        cells += [f"{c.spread_bps:.2f} bps", named, dropped or fmt.NONE]
        table.add_row(*cells)
    return table


def price(
    symbols: Annotated[
        list[str], typer.Argument(metavar="SYMBOL", help="Tickers or asset ids, e.g. BTC eth.")
    ],
    mock: MockOption = False,
    as_json: JsonOption = False,
) -> None:
    """Show the consensus price of each asset, with its spread and sources.

    Every spot-price provider is asked at once; a quote that disagrees with the others is
    dropped and listed. A name that is unknown or names several assets, and an asset no
    provider has a fresh price for, is reported on stderr.

    Exit status: 0 when every asset was priced; 1 when one was not, or no provider answered.
    """
    settings = quiet_settings(mock)

    async def run() -> Answer[Prices]:
        async with build(settings) as container:
            return await _prices(container, symbols)

    answer = asyncio.run(run())
    if as_json:
        served = answer.served
        emit_json(
            {
                "prices": [price_body(r) for r in served.value.reports] if served else [],
                "missing": served.value.missing if served else [],
                "unavailable": served.unavailable if served else {},
                "errors": [p.as_json() for p in answer.problems],
            }
        )
    elif answer.served is not None and answer.served.value.reports:
        console = out()
        console.print(_price_table(answer.served.value.reports, console.width))
    raise typer.Exit(_report(answer))


# -- market ------------------------------------------------------------------------------------


async def _market(container: Container, queries: Sequence[str], limit: int) -> Answer[MarketReport]:
    answer: Answer[MarketReport] = Answer.for_(container)
    assets = _resolve(container, queries, answer.problems)
    if queries and not assets:
        return answer
    try:
        answer.served = await container.market.market([a.id for a in assets], limit)
    except NoProviderAvailable as exc:
        answer.problems.append(Problem(None, exc.code, exc.message))
        return answer
    listed = {r.row.asset_id for r in answer.served.value.rows}
    missing = [a.id for a in assets if a.id not in listed]
    answer.problems.extend(
        Problem(i, "not_listed", f"{i} is not in the providers' market listing") for i in missing
    )
    return answer


def _market_table(report: MarketReport) -> Table:
    table = Table(
        title="Market (USD)",
        caption=f"from {', '.join(report.providers)}; 24h: price change",
    )
    table.add_column("#", justify="right")
    table.add_column("asset")
    table.add_column("price", justify="right")
    table.add_column("24h", justify="right")
    table.add_column("market cap", justify="right")
    table.add_column("volume 24h", justify="right")
    for r in report.rows:
        row = r.row
        change = fmt.percent(row.change_24h_pct, signed=True)
        if row.change_24h_pct is not None:
            colour = "green" if row.change_24h_pct >= 0 else "red"
            change = f"[{colour}]{change}[/{colour}]"
        price = fmt.price(row.price)
        if r.stale:
            price += "\n[yellow]stale[/yellow]"
        table.add_row(
            fmt.count(row.rank),
            f"{escape(row.symbol)} ({escape(row.asset_id)})",
            price,
            change,
            fmt.money(row.market_cap),
            fmt.money(row.volume_24h),
        )
    return table


def market(
    symbols: Annotated[
        list[str] | None,
        typer.Argument(metavar="SYMBOL", help="Only these assets, in this order."),
    ] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=250, metavar="N", help="Show at most N assets.")
    ] = 20,
    mock: MockOption = False,
    as_json: JsonOption = False,
) -> None:
    """Show the top assets by market cap: price, 24-hour change, market cap and volume.

    The listing is assembled from every market-listing provider and priced by the consensus,
    as the API's /api/market is.

    Exit status: 0 when the listing (and every asset named) was found; 1 when an asset
    named is unknown or not listed, or no provider answered.
    """
    settings = quiet_settings(mock)

    async def run() -> Answer[MarketReport]:
        async with build(settings) as container:
            return await _market(container, symbols or [], limit)

    answer = asyncio.run(run())
    if as_json:
        body = market_body(answer.served) if answer.served else {"cryptocurrencies": []}
        emit_json({**body, "errors": [p.as_json() for p in answer.problems]})
    elif answer.served is not None and answer.served.value.rows:
        out().print(_market_table(answer.served.value))
    elif answer.served is not None:
        err().print("no assets listed")
    raise typer.Exit(_report(answer))
