"""Help as a Unix tool shows it; every command is made with `cls=Command`.

Typer's plain help (`rich_markup_mode=None`: click's layout, paragraphs wrapped as sentences,
flags without a type) still writes arguments its own way: `{SYMBOL}...` in the usage line
and `SYMBOL <list[str]>` in the list, a Python type a user has no use for. This command class
writes `SYMBOL...` and `[SYMBOL]...` (optional) in both places, through click's own extension
points (`collect_usage_pieces`, `format_options`). Their `ctx` and `formatter` are typed
`Any`: typer's click is a private copy (`typer._click`).
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperCommand


def _argument(param: TyperArgument) -> str:
    name = param.metavar or (param.name or "").upper()
    if not param.required:
        name = f"[{name}]"
    return name if param.nargs == 1 or name.endswith("...") else f"{name}..."


class Command(TyperCommand):
    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                pieces.append(_argument(param))
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        arguments, options = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if isinstance(param, TyperArgument):
                arguments.append((_argument(param), record[1]))
            else:
                options.append(record)
        if arguments:
            with formatter.section("Arguments"):
                formatter.write_dl(arguments)
        if options:
            with formatter.section("Options"):
                formatter.write_dl(options)
