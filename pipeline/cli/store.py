"""``fraudstream store``: the training store, a Kafka consumer writing Parquet until stopped."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from types import FrameType

import typer
from rich.console import Console
from rich.table import Table

from pipeline.cli.context import settings_of
from pipeline.store import STORE_TOPICS, StoreConfig

console = Console()
DEFAULTS = StoreConfig(directory=Path("."))


class Start(StrEnum):
    EARLIEST = "earliest"
    LATEST = "latest"


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM; the previous handlers come back on exit."""
    stop = threading.Event()

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def store(
    ctx: typer.Context,
    directory: Path | None = typer.Option(
        None, "--dir", help="dataset directory [default: <FRAUDSTREAM_HOME>/store]"
    ),
    sample_rate: float = typer.Option(
        DEFAULTS.sample_rate,
        "--sample-rate",
        min=0.0,
        max=1.0,
        help="share of allowed, unlabelled events kept (alerted or labelled: all)",
    ),
    flush_records: int = typer.Option(
        DEFAULTS.flush_records, "--flush-records", min=1, help="write after this many rows"
    ),
    flush_seconds: float = typer.Option(
        DEFAULTS.flush_seconds, "--flush-seconds", min=0.01, help="... or after this long"
    ),
    join_timeout: float = typer.Option(
        DEFAULTS.join_timeout_s,
        "--join-timeout",
        min=0.01,
        help="seconds an event waits for its score before it is written without one",
    ),
    group: str = typer.Option(DEFAULTS.group_id, "--group", help="the store's consumer group"),
    start: Start = typer.Option(
        Start.EARLIEST, "--start", help="where a new consumer group starts reading"
    ),
    bootstrap: str | None = typer.Option(
        None, "--bootstrap", help="Kafka bootstrap servers [default: FRAUDSTREAM_KAFKA_BOOTSTRAP]"
    ),
) -> None:
    """Keep scored events, their scores and late labels as a Parquet training dataset.

    Runs until Ctrl-C or SIGTERM; the dataset is the layout `fraudstream train` reads.
    """
    from pipeline.store.consumer import StoreRunner  # imports kafka-python

    settings = settings_of(ctx)
    config = StoreConfig(
        directory=(directory or settings.store_dir).resolve(),
        group_id=group,
        auto_offset_reset=start.value,
        sample_rate=sample_rate,
        flush_records=flush_records,
        flush_seconds=flush_seconds,
        join_timeout_s=join_timeout,
    )
    broker = bootstrap or settings.kafka_bootstrap
    runner = StoreRunner(config, broker, settings.decode_limits())
    console.print(
        f"store [bold]{config.directory}[/] group={config.group_id} broker={broker} "
        f"sample-rate={config.sample_rate:g} topics={','.join(STORE_TOPICS)}"
    )
    started = time.monotonic()
    with stop_on_signals() as stop:
        stats = runner.run(stop)
    _summary(stats, time.monotonic() - started, config.directory)


def _summary(stats: Counter[str], seconds: float, directory: Path) -> None:
    table = Table(title=f"store {directory} — {seconds:,.0f} s")
    table.add_column("what")
    table.add_column("count", justify="right")
    rows = (
        ("events read", "events_in"),
        ("scores read", "scores_in"),
        ("labels read", "feedback_in"),
        ("invalid, skipped", "invalid"),
        ("duplicate events", "duplicate_events"),
        ("duplicate scores", "duplicate_scores"),
        ("scores after their event was written", "scores_after_write"),
        ("duplicate labels", "duplicate_feedback"),
        ("rows written: events", "rows_events"),
        ("rows written: held (sampled out)", "rows_held"),
        ("rows written: feedback", "rows_feedback"),
        ("held events promoted by a label", "promoted"),
        ("events written without a score", "unscored"),
        ("part files", "files"),
    )
    for label, key in rows:
        table.add_row(label, f"{stats[key]:,}")
    console.print(table)
