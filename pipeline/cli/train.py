"""``fraudstream train``: train a model on an event log and register (and promote) it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from models.baseline import BaselineParams, train_baseline
from models.data import EventLog, load_event_log
from models.exceptions import ModelError
from models.registry import Registry
from pipeline.cli.context import settings_of
from schemas.features import DEFAULT_WINDOW

console = Console()
MODELS = ("baseline", "transformer")
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
TRANSFORMER_METRICS = (
    "val_average_precision_fp32",
    "val_average_precision_int8",
    "int8_ap_drop",
    "parity_fraud_max_abs_diff",
    "parity_anomaly_max_abs_diff",
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
    model: str = typer.Option("baseline", "--model", help="model kind: baseline or transformer"),
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
    threads: int | None = typer.Option(
        None, "--threads", min=1, help="CPU threads (default: all for baseline, 2 for transformer)"
    ),
    epochs: int | None = typer.Option(
        None, "--epochs", min=1, help="transformer: most fine-tuning epochs (early stopping) [8]"
    ),
    pretrain_epochs: int | None = typer.Option(
        None, "--pretrain-epochs", min=0, help="transformer: self-supervised epochs [2]"
    ),
    max_events: int | None = typer.Option(
        None, "--max-events", min=3, help="transformer: train on the first N events only"
    ),
    checkpoint_dir: Path | None = typer.Option(
        None,
        "--checkpoint-dir",
        help="transformer: keep resumable checkpoints here and resume from them "
        "[default: a temporary folder]",
    ),
    seed: int = typer.Option(0, "--seed", help="transformer: seed of every random draw"),
) -> None:
    """Train a model on an event log, check it, register it and promote it."""
    if model not in MODELS:
        raise typer.BadParameter(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    transformer_only = {
        "--epochs": epochs,
        "--pretrain-epochs": pretrain_epochs,
        "--max-events": max_events,
        "--checkpoint-dir": checkpoint_dir,
    }
    given = [name for name, value in transformer_only.items() if value is not None]
    if model == "baseline" and given:
        raise typer.BadParameter(f"{', '.join(given)} only apply to --model transformer")
    settings = settings_of(ctx)
    registry = Registry(settings.registry_dir)
    with console.status(f"reading {data}"):
        event_log = load_event_log(data, mapping)
    console.print(f"read {len(event_log):,} events from {data}")
    with Progress(
        TextColumn("{task.description:<9}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        common: dict[str, Any] = {
            "parent_version": registry.current(),
            "promote": promote,
            "progress": _StageProgress(progress),
        }
        if model == "baseline":
            params = BaselineParams(
                window=window, label_delay_days=label_delay_days, threads=threads
            )
            version = train_baseline(event_log, registry, params, **common)
        else:
            options = {
                "window": window,
                "label_delay_days": label_delay_days,
                "threads": threads,
                "epochs": epochs,
                "pretrain_epochs": pretrain_epochs,
                "max_events": max_events,
                "checkpoint_dir": checkpoint_dir,
                "seed": seed,
            }
            version = _train_transformer(event_log, registry, options, common)
    _show(registry, version, promote)


def _train_transformer(
    event_log: EventLog, registry: Registry, options: dict[str, Any], common: dict[str, Any]
) -> str:
    """Imports torch only here: the rest of the CLI (and the worker) never loads it."""
    try:
        from models.transformer import TransformerParams, train_transformer
    except ImportError as err:
        raise ModelError(
            f"the transformer needs the train extra ({err.name or err} is missing): "
            "pip install -e '.[train]'"
        ) from err
    chosen = {name: value for name, value in options.items() if value is not None}
    return train_transformer(event_log, registry, TransformerParams(**chosen), **common)


def _show(registry: Registry, version: str, promote: bool) -> None:
    manifest = registry.manifest(version)
    table = Table(title=f"{version}{' (current)' if promote else ''}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name in SHOWN_METRICS:
        if name in manifest.metrics:
            table.add_row(name, f"{manifest.metrics[name]:.4f}")
    if manifest.kind == "transformer":
        for name in TRANSFORMER_METRICS:
            if name in manifest.metrics:
                table.add_row(name, f"{manifest.metrics[name]:.3g}")
        table.add_row("served graph", str(manifest.params.get("served_precision")))
    for event_type, cut in manifest.thresholds.items():
        table.add_row(f"{event_type} review / block", f"{cut.review:.4f} / {cut.block:.4f}")
    console.print(table)
    console.print(f"registered {registry.path(version)}")
