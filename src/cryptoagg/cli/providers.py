"""`cryptoagg providers` (the list), `providers check` (does each answer?), `providers schema`
(has any changed its format?) and `providers plan` (how this month's quota is being spent).

`providers --check` is `providers check`: the group takes the same options (`-p`, `--json`,
`--mock`), and options given before a subcommand apply to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn

from cryptoagg.bootstrap import Container, build
from cryptoagg.bootstrap.tasks import utcnow
from cryptoagg.cli import provider_tables as tables
from cryptoagg.cli.checks import Prober, ProbeResult, capture_hooks
from cryptoagg.cli.common import (
    OK,
    PARTIAL,
    USAGE,
    JsonOption,
    MockOption,
    emit_json,
    fail,
    out,
    progress,
    quiet_settings,
)
from cryptoagg.cli.help import Command
from cryptoagg.cli.known import LastCheck, last_checks
from cryptoagg.cli.schema import judge
from cryptoagg.config import Settings
from cryptoagg.core.ports import Provider
from cryptoagg.providers.registry import adapters
from cryptoagg.resilience.plan import ProviderPlan
from cryptoagg.services.status import ProviderStatus

providers_app = typer.Typer(
    no_args_is_help=False,
    rich_markup_mode=None,
    short_help="List the providers and their state; check, schema, plan.",
)

#: the progress line names the providers still out when they are this few
WAITING_NAMES = 2

NamesOption = Annotated[
    list[str] | None,
    typer.Option("--provider", "-p", metavar="NAME", help="Only this provider (repeat for more)."),
]


@providers_app.callback(invoke_without_command=True)
def providers(
    ctx: typer.Context,
    mock: MockOption = False,
    names: NamesOption = None,
    as_json: JsonOption = False,
    check: Annotated[
        bool, typer.Option("--check", help="Call each provider now: the same as `providers check`.")
    ] = False,
) -> None:
    """List the providers: their state, capabilities and whether they need a key.

    The state is the newest health check or probe stored in the database (a running server
    checks every COLLECT_HEALTH_S; `providers check` probes now and records it): ok, failing
    (with the error's kind), not checked (nothing stored yet) or disabled (with the reason).
    Nothing is called.

    Exit status: 0; 2 for an unknown provider name.
    """
    ctx.obj = {"mock": mock, "names": names or [], "json": as_json}
    if ctx.invoked_subcommand is not None:
        return
    settings = quiet_settings(mock)
    if check:
        raise typer.Exit(_check(settings, names or [], as_json=as_json))
    _known_names(names or [])

    async def run() -> tuple[list[ProviderStatus], dict[str, LastCheck]]:
        async with build(settings) as container:
            statuses = container.status.providers_status()
            if names:
                statuses = [s for s in statuses if s.name in names]
            known = await asyncio.to_thread(
                last_checks, container.engine, [s.name for s in statuses if s.enabled]
            )
            return statuses, known

    statuses, known = asyncio.run(run())
    if as_json:
        emit_json(tables.list_json(statuses, known))
    else:
        out().print(tables.list_table(statuses, known, utcnow()))


def _group(ctx: typer.Context, key: str) -> Any:
    """An option given to `providers` before the subcommand."""
    parent = ctx.parent
    obj = parent.obj if parent is not None else None
    return obj.get(key) if isinstance(obj, dict) else None


def _mock(ctx: typer.Context, mock: bool) -> bool:
    return mock or bool(_group(ctx, "mock"))


def _names(ctx: typer.Context, names: list[str] | None) -> list[str]:
    return [*(_group(ctx, "names") or []), *(names or [])]


def _json(ctx: typer.Context, as_json: bool) -> bool:
    return as_json or bool(_group(ctx, "json"))


@providers_app.command(
    "check", cls=Command, short_help="Call each enabled provider once: ok, or what went wrong."
)
def check_command(
    ctx: typer.Context,
    mock: MockOption = False,
    names: NamesOption = None,
    as_json: JsonOption = False,
) -> None:
    """Call each enabled provider once and show the result, latency and detail.

    The call is the health check's probe (the provider's cheapest call). The result is ok
    or the error's kind (unavailable, timeout, rate_limited, geo_blocked, ...). Budgets
    apply: a call the budget refuses is "skipped: budget" and never sent, and a provider
    with a monthly quota is probed at most as often as the health collector may probe it
    (until then its last recorded probe is shown). A progress line goes to stderr while
    the calls are out.

    Exit status: 0 when every provider checked is ok; 1 otherwise; 2 for an unknown
    provider name.
    """
    settings = quiet_settings(_mock(ctx, mock))
    raise typer.Exit(_check(settings, _names(ctx, names), as_json=_json(ctx, as_json)))


@providers_app.command(
    "schema", cls=Command, short_help="Compare each provider's payload with its recorded shape."
)
def schema_command(
    ctx: typer.Context,
    mock: MockOption = False,
    names: NamesOption = None,
    as_json: JsonOption = False,
) -> None:
    """Has a provider changed its format? Compare each payload with its recorded shape.

    Each enabled provider's probe payload is parsed by its adapter (parse: ok, failed, or
    empty when nothing was read from it) and its shape (key paths and JSON types) is
    compared with the shape recorded in the package: missing fields, marked required when
    the parser needs them and used when it reads them, new fields and type changes. A
    provider that could not be reached is shown, but reachability is `providers check`'s
    verdict.

    Exit status: 0 when every payload parsed with no required field missing; 1 otherwise;
    2 for an unknown provider name.
    """
    settings = quiet_settings(_mock(ctx, mock))
    results = _probe(settings, _names(ctx, names), capture=True)
    reports = [judge(r) for r in results]
    if _json(ctx, as_json):
        emit_json([r.as_json() for r in reports])
    else:
        out().print(tables.schema_table(reports))
    raise typer.Exit(PARTIAL if any(r.failed for r in reports) else OK)


@providers_app.command(
    "plan", cls=Command, short_help="Show this month's quota plan of each provider."
)
def plan_command(ctx: typer.Context, mock: MockOption = False, as_json: JsonOption = False) -> None:
    """Show how each enabled provider's month of calls is being spent (UTC month).

    Columns: calls used; the projected use by month end (used, clients' projected use and
    the background schedule); the monthly quota and the plan's target (QUOTA_TARGET of it);
    the calls kept for client requests until month end; and each background job's interval
    as the plan spaces it now (paused: nothing left for it this month). Read from the quota
    ledger `serve` writes (in DATA_DIR, or DATA_DIR/mock with --mock); no provider is
    called. Calls per run count as one here: a running server learns them, so its
    /api/providers can show longer intervals.

    Exit status: 0.
    """
    settings = quiet_settings(_mock(ctx, mock))

    async def run() -> list[ProviderPlan]:
        async with build(settings) as container:  # plans the jobs as `serve` does
            return [s.plan for s in container.status.providers_status() if s.enabled]

    plans = asyncio.run(run())
    if _json(ctx, as_json):
        emit_json([tables.plan_json(p) for p in plans])
    else:
        console = out()
        console.print(tables.plan_table(plans, console.width))


# -- running the probes ----------------------------------------------------------------------


def _known_names(names: Sequence[str]) -> None:
    known_names = [cls.name for cls in adapters()]
    unknown = sorted(set(names) - set(known_names))
    if unknown:
        known = ", ".join(known_names)
        fail(f"unknown provider(s) {', '.join(unknown)}; known: {known}", USAGE)


def _chosen(container: Container, names: Sequence[str]) -> list[Provider]:
    """The named providers (disabled ones too: they are reported), or every enabled one."""
    if not names:
        return [p for p in container.providers if p.disabled_reason is None]
    by_name = {p.name: p for p in container.providers}
    return [by_name[name] for name in dict.fromkeys(names)]


def _waiting(names: list[str]) -> str:
    """The progress line's text: short enough for 80 columns, so no name is ever cut."""
    if not names:
        return "done"
    if len(names) > WAITING_NAMES:
        return f"waiting for {len(names)} providers"
    return f"waiting for {', '.join(names)}"


def _probe(settings: Settings, names: Sequence[str], *, capture: bool) -> list[ProbeResult]:
    _known_names(names)

    async def run() -> list[ProbeResult]:
        async with build(settings, event_hooks=capture_hooks() if capture else None) as container:
            chosen = _chosen(container, names)
            pending = [p.name for p in chosen]
            columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(20))
            with progress(*columns, MofNCompleteColumn()) as bar:
                task = bar.add_task(_waiting(pending), total=len(chosen))

                def done(result: ProbeResult) -> None:
                    pending.remove(result.provider)
                    bar.update(task, advance=1, description=_waiting(pending))

                return await Prober(container).run(chosen, capture=capture, done=done)

    return asyncio.run(run())


def _check(settings: Settings, names: Sequence[str], *, as_json: bool) -> int:
    results = _probe(settings, names, capture=False)
    if as_json:
        emit_json([tables.check_json(r) for r in results])
    else:
        out().print(tables.check_table(results))
    return OK if results and all(r.ok for r in results) else PARTIAL
