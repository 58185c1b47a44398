"""A command that also has subcommands: ``simulate [OPTIONS] [DIR]`` and ``simulate analysts``.

click gives a group's own positional arguments the first word, so ``DIR`` would swallow a
subcommand's name, and a group stops reading its options at the first word, so options
after ``DIR`` would be lost. :class:`CommandWithSubcommands` sends a first word that names
a subcommand to that subcommand (the command's own parameters keep their defaults and its
callback sees ``ctx.invoked_subcommand``); anything else is parsed as a plain command.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from typer.core import TyperArgument, TyperGroup

_ROUTED = "fraudstream.routed_to_subcommand"

# ``ctx`` is the click Context of the click that typer runs on (recent typer releases vendor
# their own copy), hence ``Any`` in the overrides below.


class CommandWithSubcommands(TyperGroup):
    allow_interspersed_args = True

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        if ctx.meta.get(_ROUTED):
            return [p for p in params if not isinstance(p, TyperArgument)]
        return params

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] in self.commands:
            ctx.meta[_ROUTED] = True
            ctx.allow_interspersed_args = False  # the subcommand's options are its own
            rest = super().parse_args(ctx, args)
            for param in super().get_params(ctx):
                if isinstance(param, TyperArgument) and param.name:
                    ctx.params.setdefault(param.name, None)
            return rest
        rest = super().parse_args(ctx, args)
        for param in super().get_params(ctx):
            value = ctx.params.get(param.name or "")
            if isinstance(param, TyperArgument) and isinstance(value, str | PurePath):
                word = str(value)
                if word in self.commands:
                    ctx.fail(
                        f"{word!r} is a subcommand: write `{ctx.command_path} {word} …` with "
                        "its options after it"
                    )
        return rest
