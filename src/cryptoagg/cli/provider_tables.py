"""The tables and JSON of `cryptoagg providers` and its `check`, `schema` and `plan`.

Every table fits 80 columns without cutting a provider name, endpoint or key path: long cells
wrap between words (a path longer than its column folds, never ends in "…"), and figures go
through `cli/format.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.markup import escape
from rich.table import Table

from cryptoagg.cli import format as fmt
from cryptoagg.cli.checks import SKIPPED, ProbeResult
from cryptoagg.cli.known import LastCheck
from cryptoagg.cli.schema import FAILED, SchemaReport
from cryptoagg.providers.shapes import ShapeDiff
from cryptoagg.resilience.plan import JobPlan, ProviderPlan
from cryptoagg.services.status import ProviderStatus

#: differences listed per endpoint before "and N more (--json lists all)"
CELL_ITEMS = 6
#: the order `providers plan` lists a provider's jobs in: collectors, then the probes
JOB_ORDER = ("prices", "candles", "news", "health", "discovery")
#: from this terminal width on a provider's jobs share one line ("prices 11m · health 2.7h")
JOBS_ON_ONE_LINE = 120
#: the narrowest table, so that its caption keeps to two lines
TABLE_WIDTH = 64
#: the widest provider name, so that column is never narrower
NAME_WIDTH = len("alternative_me")


def _coloured(text: str, colour: str) -> str:
    return f"[{colour}]{escape(text)}[/{colour}]"


# -- providers (the list) ------------------------------------------------------------------


def provider_state(status: ProviderStatus, last: LastCheck | None) -> str:
    """ "disabled", "ok", "failing" or "not checked"."""
    if not status.enabled:
        return "disabled"
    if last is None:
        return "not checked"
    return "ok" if last.ok else "failing"


def list_json(
    statuses: Sequence[ProviderStatus], known: dict[str, LastCheck]
) -> list[dict[str, Any]]:
    rows = []
    for s in statuses:
        last = known.get(s.name)
        rows.append(
            {
                "provider": s.name,
                "enabled": s.enabled,
                "disabled_reason": s.disabled_reason,
                "capabilities": s.capabilities,
                "requires_key": s.requires_key,
                "state": provider_state(s, last),
                "checked_at": last.at if last else None,
                "checked_by": last.source if last else None,
                "detail": last.detail if last else None,
            }
        )
    return rows


def list_table(
    statuses: Sequence[ProviderStatus], known: dict[str, LastCheck], now: datetime
) -> Table:
    unchecked = [s.name for s in statuses if s.enabled and s.name not in known]
    caption = "state: the newest stored health check or probe"
    if unchecked:
        caption += (
            "; not checked: none stored yet (`cryptoagg providers check` probes now, a "
            "running server every COLLECT_HEALTH_S)"
        )
    table = Table(title="Providers", caption=caption)
    table.add_column("provider", no_wrap=True, min_width=NAME_WIDTH)
    table.add_column("state")
    table.add_column("checked")
    table.add_column("capabilities")
    table.add_column("key")
    for s in statuses:
        last = known.get(s.name)
        state = provider_state(s, last)
        if state == "disabled":
            cell = _coloured(f"disabled: {s.disabled_reason}", "yellow")
        elif state == "failing":
            kind = (last.detail or "").split(":", 1)[0] if last else ""
            cell = _coloured(f"failing: {kind}" if kind else "failing", "red")
        elif state == "ok":
            cell = _coloured("ok", "green")
        else:
            cell = state
        checked = fmt.ago(last.at, now) if last else fmt.NONE
        key = "required" if s.requires_key else fmt.NONE
        table.add_row(s.name, cell, checked, ", ".join(s.capabilities), key)
    return table


# -- providers check -----------------------------------------------------------------------


def check_json(r: ProbeResult) -> dict[str, Any]:
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
    return _coloured(result, colour)


def check_table(results: Sequence[ProbeResult]) -> Table:
    ok = sum(r.ok for r in results)
    table = Table(title="Provider check", caption=f"{ok} of {len(results)} ok")
    table.add_column("provider", no_wrap=True, min_width=NAME_WIDTH)
    table.add_column("result")
    table.add_column("latency ms", justify="right")
    table.add_column("detail", overflow="fold")
    for r in results:
        latency = fmt.count(round(r.latency_ms)) if r.latency_ms is not None else fmt.NONE
        table.add_row(r.provider, _result_cell(r.result), latency, escape(r.detail))
    return table


# -- providers schema ----------------------------------------------------------------------


def _limited(lines: list[str]) -> list[str]:
    if len(lines) <= CELL_ITEMS:
        return lines
    return [*lines[:CELL_ITEMS], f"and {len(lines) - CELL_ITEMS} more (--json lists all)"]


def _differences(diff: ShapeDiff) -> list[str]:
    """One line per difference: what, then the path (a path is never cut)."""
    lines = []
    for path in diff.missing:
        if path in diff.missing_required:
            lines.append(f"[red]missing (required)[/red] {escape(path)}")
        elif path in diff.missing_used:
            lines.append(f"missing (used) {escape(path)}")
        else:
            lines.append(f"missing {escape(path)}")
    lines += [f"new {escape(path)}" for path in diff.new]
    lines += [f"type {escape(str(change))}" for change in diff.changed]
    return _limited(lines)


def schema_table(reports: Sequence[SchemaReport]) -> Table:
    """The provider with its parse verdict under it, then one line per endpoint and per
    difference under it: the paths get all the width the provider leaves."""
    failed = sum(r.failed for r in reports)
    table = Table(
        title="Provider payload shapes",
        caption=f"{failed} of {len(reports)} failed; a missing field is marked (required) or "
        "(used) when the adapter needs or reads it",
        show_edge=False,
        show_lines=True,
        min_width=TABLE_WIDTH,
    )
    table.add_column("provider\nparse", no_wrap=True, min_width=NAME_WIDTH)
    table.add_column("endpoint and differences", overflow="fold")
    for r in reports:
        colour = "green" if r.parse == "ok" else "red" if r.parse in FAILED else "yellow"
        lines = [escape(r.detail)] if r.detail else []
        for e in r.endpoints:
            lines.append(f"[bold]{escape(e.path)}[/bold]")
            if e.diff is not None:
                lines += [f"  {line}" for line in _differences(e.diff)] or ["  same shape"]
            elif e.note:
                lines.append(f"  {escape(e.note)}")
        provider = f"{r.provider}\n{_coloured(r.parse, colour)}"
        table.add_row(provider, "\n".join(lines) or fmt.NONE)
    return table


# -- providers plan ------------------------------------------------------------------------


def ordered(jobs: list[JobPlan]) -> list[JobPlan]:
    def rank(job: JobPlan) -> int:
        return JOB_ORDER.index(job.job) if job.job in JOB_ORDER else len(JOB_ORDER)

    return sorted(jobs, key=rank)


def plan_json(p: ProviderPlan) -> dict[str, Any]:
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
            for j in ordered(p.jobs)
        ],
    }


def _job_cell(job: JobPlan) -> str:
    if job.interval_s is None:
        return _coloured(f"{job.job} paused", "red")
    text = f"{escape(job.job)} {fmt.duration(job.interval_s)}"
    # slowed below its base interval by the plan: yellow
    return text if job.interval_s <= job.base_interval_s + 0.05 else f"[yellow]{text}[/yellow]"


def plan_table(plans: Sequence[ProviderPlan], width: int) -> Table:
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
    sep = " · " if width >= JOBS_ON_ONE_LINE else "\n"
    for p in plans:
        used = fmt.count(p.used_this_month)
        if p.exhausted:
            used = f"[red]{used}[/red]"
        over = p.target is not None and p.projected_month_end > p.target
        projected = fmt.count(p.projected_month_end)
        table.add_row(
            p.provider,
            used,
            f"[yellow]{projected}[/yellow]" if over else projected,
            fmt.count(p.monthly_quota),
            fmt.count(p.target),
            fmt.count(p.client_reserve),
            sep.join(_job_cell(j) for j in ordered(p.jobs)) or fmt.NONE,
        )
    return table
