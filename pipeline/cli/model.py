"""``fraudstream model …``: list registered versions, promote one and tell the workers."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from models.registry import Registry
from pipeline.cli.context import settings_of
from pipeline.kafka.publish import publish_model_update

model_app = typer.Typer(help="The model registry.", no_args_is_help=True)
console = Console()


@model_app.command("list")
def list_versions(ctx: typer.Context) -> None:
    """Registered versions, the current one marked."""
    registry = Registry(settings_of(ctx).registry_dir)
    current = registry.current()
    table = Table()
    for column in ("version", "kind", "parent", "average precision", "current"):
        table.add_column(column)
    for version in registry.versions():
        m = registry.manifest(version)
        ap = m.metrics.get("test_average_precision")
        table.add_row(version, m.kind, m.parent_version or "", "" if ap is None else f"{ap:.4f}",
                      "*" if version == current else "")  # fmt: skip
    console.print(table)


@model_app.command("promote")
def promote(
    ctx: typer.Context,
    version: str = typer.Argument(..., help="version to serve"),
    publish: bool = typer.Option(True, "--publish/--no-publish", help="announce on Kafka"),
    bootstrap: str | None = typer.Option(None, "--bootstrap"),
) -> None:
    """Move `current` to VERSION and publish a ModelUpdate so running workers swap to it."""
    settings = settings_of(ctx)
    registry = Registry(settings.registry_dir)
    update = registry.update_record(version)  # verifies the sha256 first
    registry.promote(version)
    console.print(f"current → [bold]{version}[/]")
    if publish:
        publish_model_update(bootstrap or settings.kafka_bootstrap, update)
        console.print(f"published on fraud.model-updates.v1 (sha256 {update.sha256[:12]}…)")
