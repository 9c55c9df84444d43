"""`cryptoagg assets refresh`: merge the providers' listings into the stored asset registry.

The refresh is the one `serve`'s auto-discovery runs (`AssetService.refresh`): it compares
every listing with the one stored last (by this command or a server), records the changes and
stores the listings, so a running server takes them over within a minute and a restarted one
starts with them. Only real changes are printed: a second run with nothing new says so.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import typer
from rich.markup import escape

from cryptoagg.bootstrap import build
from cryptoagg.cli.common import (
    OK,
    PARTIAL,
    JsonOption,
    MockOption,
    emit_json,
    out,
    quiet_settings,
    warn,
)
from cryptoagg.cli.help import Command
from cryptoagg.core.asset_changes import AssetChange
from cryptoagg.services.asset_changes import change_fields
from cryptoagg.services.assets import RefreshReport

assets_app = typer.Typer(
    help="The asset registry.",
    short_help="The asset registry: refresh it from the providers' listings.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@dataclass(frozen=True, slots=True)
class Refreshed:
    report: RefreshReport
    assets: int
    tracked: int


def _describe(change: AssetChange) -> str:
    """One line per change: `provider  kind  asset  (before -> after)`."""
    subject = change.asset_id or change.native_id or ""
    if change.kind == "baseline":
        return f"{change.provider}: first listing stored ({change.after})"
    if change.before is not None or change.after is not None:
        return f"{change.provider}: {change.kind} {subject}: {change.before} -> {change.after}"
    if change.native_id and change.native_id != change.asset_id:
        return f"{change.provider}: {change.kind} {subject} (as {change.native_id})"
    return f"{change.provider}: {change.kind} {subject}"


def _json(done: Refreshed) -> dict[str, object]:
    r = done.report
    return {
        "providers": r.providers,
        "unavailable": r.failures,
        "added": r.added,
        "changes": [change_fields(c) for c in r.recorded],
        "registry": {"assets": done.assets, "tracked": done.tracked},
    }


@assets_app.command(
    "refresh",
    cls=Command,
    short_help="Merge the providers' listings into the registry; show what changed.",
)
def assets_refresh(mock: MockOption = False, as_json: JsonOption = False) -> None:
    """Merge every listing provider's assets into the registry and show what changed.

    The listings are compared with the ones stored last (by this command or a server's
    auto-discovery): new assets, assets a provider lists for the first time, ticker and name
    changes, delistings. They are recorded (GET /api/assets/changes) and the listings are
    stored, so a running server serves the new assets within a minute and a restarted one
    from the start. A provider's first stored listing is summarised in one line.

    Exit status: 0 when every listing provider answered; 1 when one or all did not.
    """
    settings = quiet_settings(mock)

    async def run() -> Refreshed:
        async with build(settings) as container:
            report = await container.assets.refresh()
            registry = container.registry
            return Refreshed(report, len(registry), len(registry.tracked()))

    done = asyncio.run(run())
    report = done.report
    if as_json:
        emit_json(_json(done))
    else:
        console = out()
        for change in report.recorded:
            console.print(escape(_describe(change)), soft_wrap=True)
        if report.providers and not report.recorded:
            console.print(
                f"no changes since the last refresh ({', '.join(report.providers)})",
                soft_wrap=True,
            )
        console.print(f"registry: {done.assets:,} assets, {done.tracked:,} tracked")
    for name, reason in report.failures.items():
        warn(f"{name} did not answer ({reason})")
    raise typer.Exit(OK if report.providers and not report.failures else PARTIAL)
