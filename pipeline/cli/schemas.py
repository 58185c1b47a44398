"""``fraudstream schemas …``: JSON Schema export for producers in other languages."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from schemas.export import JSON_DIR, export_schemas, stale_schemas

schemas_app = typer.Typer(
    help="Record schemas for producers in other languages.", no_args_is_help=True
)
console = Console()


@schemas_app.command("export")
def export(out: Path = typer.Option(JSON_DIR, "--out", help="directory for *.schema.json")) -> None:
    """Write one JSON Schema file per record type."""
    for path in export_schemas(out):
        console.print(f"wrote {path}")


@schemas_app.command("check")
def check(directory: Path = typer.Option(JSON_DIR, "--dir")) -> None:
    """Exit non-zero when the JSON Schema files are out of date."""
    stale = stale_schemas(directory)
    if stale:
        console.print(f"[red]out of date:[/] {', '.join(stale)} — run `fraudstream schemas export`")
        raise typer.Exit(1)
    console.print("schemas are up to date")
