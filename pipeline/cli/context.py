"""State shared by CLI commands: the settings, built once by the root callback."""

from __future__ import annotations

from dataclasses import dataclass

import typer

from pipeline.settings import Settings, load_settings


@dataclass
class CliState:
    settings: Settings


def settings_of(ctx: typer.Context) -> Settings:
    state = ctx.find_root().obj
    if not isinstance(state, CliState):  # called outside the root app (tests)
        state = CliState(settings=load_settings())
        ctx.find_root().obj = state
    return state.settings
