"""``fraudstream train``: train a model on an event log and register (and promote) it."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from models.baseline import BaselineParams, train_baseline
from models.data import load_event_log
from models.registry import Registry
from pipeline.cli.context import settings_of
from schemas.features import DEFAULT_WINDOW

console = Console()
MODELS = ("baseline",)
SHOWN_METRICS = (
    "test_roc_auc",
    "test_average_precision",
    "test_recall_at_0.5pct",
    "test_recall_at_1pct",
    "test_anomaly_roc_auc",
    "test_base_rate",
    "test_review_rate",
    "test_block_rate",
)


class _StageProgress:
    """Adapts the trainer's (stage, done, total) callback to a rich progress display."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, object] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        task = self.tasks.get(stage)
        if task is None:
            task = self.tasks[stage] = self.progress.add_task(stage, total=total)
        self.progress.update(task, completed=done, total=total)  # type: ignore[arg-type]


def train(
    ctx: typer.Context,
    model: str = typer.Option("baseline", "--model", help="model kind: baseline"),
    data: Path = typer.Option(
        ..., "--data", help="simulator output folder, or a CSV/Parquet file or folder"
    ),
    mapping: Path | None = typer.Option(
        None, "--mapping", help="YAML column mapping for other logs (docs/MAPPING.md)"
    ),
    label_delay_days: float = typer.Option(
        7.0, "--label-delay-days", help="label arrival = event time + this, when not given"
    ),
    window: int = typer.Option(DEFAULT_WINDOW, "--window", help="events kept per account"),
    promote: bool = typer.Option(True, "--promote/--no-promote", help="make it the current model"),
    threads: int | None = typer.Option(None, "--threads", min=1, help="CPU threads (default all)"),
) -> None:
    """Train a model on an event log, check it, register it and promote it."""
    if model not in MODELS:
        raise typer.BadParameter(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    settings = settings_of(ctx)
    registry = Registry(settings.registry_dir)
    with console.status(f"reading {data}"):
        event_log = load_event_log(data, mapping)
    console.print(f"read {len(event_log):,} events from {data}")
    params = BaselineParams(window=window, label_delay_days=label_delay_days, threads=threads)
    with Progress(
        TextColumn("{task.description:<9}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        version = train_baseline(
            event_log,
            registry,
            params,
            parent_version=registry.current(),
            promote=promote,
            progress=_StageProgress(progress),
        )
    manifest = registry.manifest(version)
    table = Table(title=f"{version}{' (current)' if promote else ''}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name in SHOWN_METRICS:
        if name in manifest.metrics:
            table.add_row(name, f"{manifest.metrics[name]:.4f}")
    for event_type, cut in manifest.thresholds.items():
        table.add_row(f"{event_type} review / block", f"{cut.review:.4f} / {cut.block:.4f}")
    console.print(table)
    console.print(f"registered {registry.path(version)}")
