"""``fraudstream score``: score every event of a log offline with a registered model."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from models.data import load_event_log
from models.evaluation import score_log
from models.registry import Registry
from models.serving import OnnxScorer
from pipeline.cli.context import settings_of
from pipeline.cli.progress import StageProgress, stage_progress
from schemas import Decision

console = Console()


def score(
    ctx: typer.Context,
    model: str | None = typer.Option(
        None, "--model", help="registry version [default: the current model]", show_default=False
    ),
    data: Path = typer.Option(
        ..., "--data", help="simulator output folder, or a CSV/Parquet file or folder"
    ),
    mapping: Path | None = typer.Option(
        None, "--mapping", help="YAML column mapping for other logs (docs/MAPPING.md)"
    ),
    out: Path = typer.Option(..., "--out", help="CSV file to write the scores to"),
    label_delay_days: float = typer.Option(
        7.0, "--label-delay-days", help="label arrival = event time + this, when not given"
    ),
    batch_size: int = typer.Option(2048, "--batch-size", min=1, help="events per ONNX call"),
) -> None:
    """Replay a log through the stream's feature code and score every event.

    Writes event_id, ts, account_id, event_type, fraud_score, anomaly_score and the decision
    under the model's thresholds, one row per event in time order.
    """
    settings = settings_of(ctx)
    scorer = OnnxScorer.load(Registry(settings.registry_dir), model)
    with console.status(f"reading {data}"):
        event_log = load_event_log(data, mapping)
    console.print(f"read {len(event_log):,} events from {data}; scoring with {scorer.version}")
    with stage_progress(console) as progress:
        scores = score_log(
            event_log,
            scorer,
            label_delay=timedelta(days=label_delay_days),
            batch_size=batch_size,
            progress=StageProgress(progress),
        )
    path = scores.write_csv(out)
    counts = scores.frame.get_column("decision").value_counts()
    by_decision = dict(zip(counts["decision"].to_list(), counts["count"].to_list(), strict=True))
    table = Table(title=f"{len(scores):,} events scored by {scorer.version}")
    table.add_column("decision")
    table.add_column("events", justify="right")
    table.add_column("share", justify="right")
    for decision in Decision:
        n = by_decision.get(decision.value, 0)
        table.add_row(decision.value, f"{n:,}", f"{n / max(len(scores), 1):.2%}")
    console.print(table)
    console.print(f"wrote {path}")
