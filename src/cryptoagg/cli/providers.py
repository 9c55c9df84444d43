"""`cryptoagg providers` (the list), `providers check` (does each answer?),
`providers schema` (has any changed its format?) and `providers plan` (how this month's
quota is being spent)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from cryptoagg.bootstrap import Container, build
from cryptoagg.cli.checks import SKIPPED, Prober, ProbeResult
from cryptoagg.cli.common import console, errors, fail, quiet_settings
from cryptoagg.cli.schema import FAILED, SchemaReport, judge
from cryptoagg.config import Settings
from cryptoagg.core.ports import Provider
from cryptoagg.providers.registry import PROVIDERS
from cryptoagg.providers.shapes import ShapeDiff
from cryptoagg.resilience.plan import JobPlan, ProviderPlan

providers_app = typer.Typer(no_args_is_help=False)

MockOption = Annotated[bool, typer.Option("--mock", help="Use the built-in simulator")]
NamesOption = Annotated[
    list[str] | None,
    typer.Option("--provider", "-p", help="Only this provider (repeat for more)"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]
#: paths listed per table cell before "… N more"
CELL_ITEMS = 6
#: the order `providers plan` lists a provider's jobs in: collectors, then the probes
JOB_ORDER = ("prices", "candles", "news", "health", "discovery")
#: from this terminal width on a provider's jobs share one line ("prices 11m · health 2.7h")
JOBS_ON_ONE_LINE = 120


@providers_app.callback(invoke_without_command=True)
def providers(
    ctx: typer.Context,
    mock: MockOption = False,
    check: Annotated[bool, typer.Option("--check", help="Same as `providers check`")] = False,
) -> None:
    """List providers, their capabilities and whether they are enabled; `check` and
    `schema` call them."""
    ctx.obj = {"mock": mock}
    if ctx.invoked_subcommand is not None:
        return
    if check:
        raise typer.Exit(_check(quiet_settings(mock), [], as_json=False))
    settings = quiet_settings(mock)

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


def _mock(ctx: typer.Context, mock: bool) -> bool:
    """`--mock` given to the subcommand or to `providers` before it."""
    return mock or bool(isinstance(ctx.obj, dict) and ctx.obj.get("mock"))


@providers_app.command(
    "check", short_help="Call each enabled provider once: ok, or what went wrong."
)
def check_command(
    ctx: typer.Context,
    mock: MockOption = False,
    names: NamesOption = None,
    as_json: JsonOption = False,
) -> None:
    """Call each enabled provider once through its cheapest call (the health check's probe)
    and show the result (ok, or the error's kind), latency and detail. Budgets apply: a
    refused call is `skipped: budget`, never sent, and a provider with a monthly quota is
    probed at most as often as the health collector may (within that spacing the last
    recorded probe's verdict is shown). Exit code 0 when every provider is ok, else 1."""
    raise typer.Exit(_check(quiet_settings(_mock(ctx, mock)), names or [], as_json=as_json))


@providers_app.command(
    "schema", short_help="Compare each provider's payload with the recorded shape."
)
def schema_command(
    ctx: typer.Context,
    mock: MockOption = False,
    names: NamesOption = None,
    as_json: JsonOption = False,
) -> None:
    """Has a provider changed its format? Fetch each enabled provider's probe payload, run
    its adapter's parser on it (parse ok, failed, or empty: nothing read from it) and compare
    the payload's shape (key paths and JSON types, lists collapsed to their elements, null
    fits any type) with the recorded one shipped in the package: missing fields (`required`
    when the parser needs them, `used` when it reads them), new fields, type changes.
    Exit code 1 when a parse failed or came out empty, or a required field is missing; a
    provider that could not be reached is shown but judged by `providers check`."""
    settings = quiet_settings(_mock(ctx, mock))
    results = _probe(settings, names or [], capture=True)
    reports = [judge(r) for r in results]
    if as_json:
        console.print_json(data=[r.as_json() for r in reports])
    else:
        console.print(_schema_table(reports))
    raise typer.Exit(1 if any(r.failed for r in reports) else 0)


@providers_app.command("plan", short_help="This month's quota plan of each enabled provider.")
def plan_command(ctx: typer.Context, mock: MockOption = False, as_json: JsonOption = False) -> None:
    """How each enabled provider's month of calls is being spent (UTC month): calls used,
    the plan's projected use by month end (used + clients' projected use + the background
    schedule), the monthly quota and the plan's target, the calls kept for client requests
    for the rest of the month, and each background job's interval as the plan spaces it now
    ("paused": nothing left for it this month). Read from the quota ledger `serve` writes
    (in DATA_DIR, or DATA_DIR/mock with --mock); no provider is called. Calls per run are
    counted as one here: a running server learns them, so its /api/providers can show longer
    intervals."""
    settings = quiet_settings(_mock(ctx, mock))

    async def run() -> list[ProviderPlan]:
        async with build(settings) as container:  # plans the jobs as `serve` does
            return [s.plan for s in container.status.providers_status() if s.enabled]

    plans = asyncio.run(run())
    if as_json:
        console.print_json(data=[_plan_json(p) for p in plans])
    else:
        console.print(_plan_table(plans))


# -- running the probes ----------------------------------------------------------------------


def _chosen(container: Container, names: Sequence[str]) -> list[Provider]:
    """The named providers (disabled ones too: they are reported), or every enabled one."""
    if not names:
        return [p for p in container.providers if p.disabled_reason is None]
    by_name = {p.name: p for p in container.providers}
    return [by_name[name] for name in dict.fromkeys(names)]


def _waiting(names: list[str]) -> str:
    return f"waiting for {', '.join(names)}" if names else "done"


def _probe(settings: Settings, names: Sequence[str], *, capture: bool) -> list[ProbeResult]:
    unknown = sorted(set(names) - {cls.name for cls in PROVIDERS})
    if unknown:
        known = ", ".join(cls.name for cls in PROVIDERS)
        fail(f"unknown provider(s) {', '.join(unknown)}; known: {known}", 2)

    async def run() -> list[ProbeResult]:
        async with build(settings) as container:
            chosen = _chosen(container, names)
            pending = [p.name for p in chosen]
            columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn())
            with Progress(*columns, MofNCompleteColumn(), console=errors, transient=True) as bar:
                task = bar.add_task(_waiting(pending), total=len(chosen))

                def done(result: ProbeResult) -> None:
                    pending.remove(result.provider)
                    bar.update(task, advance=1, description=_waiting(pending))

                return await Prober(container).run(chosen, capture=capture, done=done)

    return asyncio.run(run())


def _check(settings: Settings, names: Sequence[str], *, as_json: bool) -> int:
    results = _probe(settings, names, capture=False)
    if as_json:
        console.print_json(data=[_check_json(r) for r in results])
    else:
        console.print(_check_table(results))
    return 0 if results and all(r.ok for r in results) else 1


# -- rendering -----------------------------------------------------------------------------------


def _check_json(r: ProbeResult) -> dict[str, Any]:
    return {
        "provider": r.provider,
        "result": r.result,
        "ok": r.ok,
        "latency_ms": r.latency_ms,
        "endpoint": r.endpoint,
        "detail": r.detail,
    }


def _result_cell(result: str) -> str:
    colour = "green" if result == "ok" else "yellow" if result in (SKIPPED, "disabled") else "red"
    return f"[{colour}]{escape(result)}[/{colour}]"


def _check_table(results: list[ProbeResult]) -> Table:
    ok = sum(r.ok for r in results)
    table = Table(title="Provider check", caption=f"{ok} of {len(results)} ok")
    table.add_column("provider")
    table.add_column("result")
    table.add_column("latency ms", justify="right")
    table.add_column("detail")
    for r in results:
        latency = f"{r.latency_ms:,.0f}" if r.latency_ms is not None else "-"
        table.add_row(r.provider, _result_cell(r.result), latency, escape(r.detail))
    return table


def _cell(items: list[str]) -> str:
    """Markup-safe items, one a line, at most `CELL_ITEMS` of them."""
    shown = items[:CELL_ITEMS]
    if len(items) > CELL_ITEMS:
        shown.append(f"… {len(items) - CELL_ITEMS} more")
    return "\n".join(shown) or "-"


def _diff_cells(diff: ShapeDiff) -> list[str]:
    missing = [
        f"[red]{escape(p)} (required)[/red]"
        if p in diff.missing_required
        else f"{escape(p)} (used)"
        if p in diff.missing_used
        else escape(p)
        for p in diff.missing
    ]
    new = [escape(p) for p in diff.new]
    changed = [escape(str(c)) for c in diff.changed]
    return [_cell(missing), _cell(new), _cell(changed)]


def _schema_table(reports: list[SchemaReport]) -> Table:
    failed = sum(r.failed for r in reports)
    table = Table(
        title="Provider payload shapes",
        caption=f"{failed} of {len(reports)} failed; a missing field is marked (required) or "
        "(used) when the adapter needs or reads it",
    )
    for column in ("provider", "parse", "endpoint", "missing", "new", "type changes"):
        table.add_column(column)
    for r in reports:
        colour = "green" if r.parse == "ok" else "red" if r.parse in FAILED else "yellow"
        parse = f"[{colour}]{escape(r.parse)}[/{colour}]"
        if r.detail:
            parse += f"\n{escape(r.detail)}"
        if not r.endpoints:
            table.add_row(r.provider, parse, "-", "-", "-", "-")
        for i, e in enumerate(r.endpoints):
            cells = _diff_cells(e.diff) if e.diff else [escape(e.note) or "-", "-", "-"]
            first = i == 0
            table.add_row(
                r.provider if first else "", parse if first else "", escape(e.path), *cells
            )
    return table


def _plan_json(p: ProviderPlan) -> dict[str, Any]:
    return {
        "provider": p.provider,
        "used_this_month": p.used_this_month,
        "used_by_clients": p.used_by_clients,
        "projected_month_end": p.projected_month_end,
        "monthly": p.monthly_quota,
        "target": p.target,
        "client_reserve": p.client_reserve,
        "exhausted": p.exhausted,
        "schedule": [
            {
                "job": j.job,
                "base_interval_s": j.base_interval_s,
                "interval_s": None if j.interval_s is None else round(j.interval_s, 1),
                "calls_per_run": j.calls_per_run,
            }
            for j in _ordered(p.jobs)
        ],
    }


def _ordered(jobs: list[JobPlan]) -> list[JobPlan]:
    def rank(job: JobPlan) -> int:
        return JOB_ORDER.index(job.job) if job.job in JOB_ORDER else len(JOB_ORDER)

    return sorted(jobs, key=rank)


def _every(seconds: float) -> str:
    """Compact: 45s, 9.5m, 11m, 2.7h, 3d (one decimal below 10 of the unit)."""

    def trim(value: float) -> str:
        return f"{value:.0f}" if value >= 10 else f"{value:.1f}".removesuffix(".0")

    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{trim(seconds / 60)}m"
    if seconds < 2 * 86400:
        return f"{trim(seconds / 3600)}h"
    return f"{trim(seconds / 86400)}d"


def _job_cell(job: JobPlan) -> str:
    if job.interval_s is None:
        return f"[red]{escape(job.job)} paused[/red]"
    text = f"{escape(job.job)} {_every(job.interval_s)}"
    # slowed below its base interval by the plan: yellow
    return text if job.interval_s <= job.base_interval_s + 0.05 else f"[yellow]{text}[/yellow]"


def _count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _plan_table(plans: list[ProviderPlan]) -> Table:
    table = Table(
        title="Quota plan this month (UTC)",
        caption="month end: projected use; target: QUOTA_TARGET of the quota; reserve: calls "
        "kept for clients until month end; jobs: interval now (yellow: slowed by the plan)",
        show_edge=False,
    )
    table.add_column("provider", no_wrap=True)
    for column in ("used", "month\nend", "quota", "target", "reserve"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("jobs", min_width=len("health paused"))
    sep = " · " if console.width >= JOBS_ON_ONE_LINE else "\n"
    for p in plans:
        used = _count(p.used_this_month)
        if p.exhausted:
            used = f"[red]{used}[/red]"
        over = p.target is not None and p.projected_month_end > p.target
        projected = _count(p.projected_month_end)
        table.add_row(
            p.provider,
            used,
            f"[yellow]{projected}[/yellow]" if over else projected,
            _count(p.monthly_quota),
            _count(p.target),
            _count(p.client_reserve),
            sep.join(_job_cell(j) for j in _ordered(p.jobs)) or "-",
        )
    return table
