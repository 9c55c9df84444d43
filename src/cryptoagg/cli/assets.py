"""`cryptoagg assets refresh`: merge the providers' listings into the asset registry."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from cryptoagg.bootstrap import build
from cryptoagg.cli.common import console, errors, quiet_settings

assets_app = typer.Typer(help="The asset registry.", no_args_is_help=True)


@assets_app.command("refresh")
def assets_refresh(
    mock: Annotated[bool, typer.Option("--mock", help="Ask the built-in simulator")] = False,
) -> None:
    """Merge every listing provider's assets into the registry and show what changed."""
    settings = quiet_settings(mock)

    async def run() -> tuple[int, int, list[str], dict[str, str], int]:
        async with build(settings) as container:
            report = await container.assets.refresh()
            tracked = len(container.registry.tracked())
            return len(container.registry), tracked, report.providers, report.failures, report.added

    known, tracked, providers, failures, added = asyncio.run(run())
    console.print(f"{added} assets added from {', '.join(providers) or 'no provider'}")
    console.print(f"registry: {known} assets, {tracked} tracked")
    for name, reason in failures.items():
        errors.print(f"[yellow]{name}[/yellow]: {reason}")
