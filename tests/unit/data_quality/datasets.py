"""Simulated datasets for the gate tests, and the corruptions a bad batch carries."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from pipeline.simulator import ParquetSink, Simulator, SimulatorConfig
from schemas import FeedbackSource, Label

START = date(2025, 1, 6)
ROGUE = "analyst-003"
RENAMED = ("account_id", "customer_id")


def simulate(directory: Path, seed: int, events: int = 20_000) -> Path:
    """A clean batch in the simulator's Parquet layout (same options as the CLI example)."""
    config = SimulatorConfig(
        events=events, days=30, start=START, seed=seed, genuine_label_rate=0.05
    )
    sink = ParquetSink(directory)
    for out in Simulator(config):
        sink.write(out)
    sink.close()
    return directory


def copy_of(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest)
    return dest


def _event_files(root: Path) -> list[Path]:
    return sorted((root / "events").glob("day=*/*.parquet"))


def negative_amounts(root: Path) -> None:
    """Five transactions of one day get a negative amount."""
    path = _event_files(root)[3]
    frame = pl.read_parquet(path)
    rows = frame.with_row_index("_i").filter(pl.col("amount").is_not_null()).head(5)["_i"]
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()).is_in(rows.implode()))
        .then(-pl.col("amount") - 1.0)
        .otherwise(pl.col("amount"))
        .alias("amount")
    )
    frame.write_parquet(path)


def duplicated_event_ids(root: Path) -> None:
    """Twenty events of one day are delivered again in the next day's file."""
    first, second = _event_files(root)[5:7]
    again = pl.read_parquet(first).head(20)
    pl.concat([pl.read_parquet(second), again]).write_parquet(second)


def flipped_labels(root: Path, share: float = 0.4) -> None:
    """One analyst re-labels 40 % of the labelled events with the opposite label."""
    feedback = pl.read_parquet(root / "feedback" / "day=*" / "*.parquet", hive_partitioning=False)
    picked = feedback.unique("event_id", keep="first", maintain_order=True).sample(
        fraction=share, seed=5
    )
    flipped = picked.with_columns(
        pl.when(pl.col("label") == Label.FRAUD.value)
        .then(pl.lit(Label.GENUINE.value))
        .otherwise(pl.lit(Label.FRAUD.value))
        .alias("label"),
        pl.lit(FeedbackSource.ANALYST.value).alias("source"),
        pl.lit(ROGUE).alias("analyst_id"),
        pl.lit("re-reviewed").alias("note"),
        (pl.col("ts") + timedelta(hours=1)).alias("ts"),
    )
    last_day = sorted((root / "feedback").glob("day=*"))[-1]
    flipped.write_parquet(last_day / "part-9.parquet")


def renamed_column(root: Path) -> None:
    """A producer renamed a column in every events file."""
    old, new = RENAMED
    for path in _event_files(root):
        pl.read_parquet(path).rename({old: new}).write_parquet(path)


Corruption = Callable[[Path], None]

#: each corruption and the checks that must fail because of it (and only those, without a
#: reference window)
CORRUPTIONS: dict[str, tuple[Corruption, set[str]]] = {
    "negative_amounts": (negative_amounts, {"events.amount.range"}),
    "duplicated_event_ids": (duplicated_event_ids, {"events.event_id.unique"}),
    "flipped_labels": (
        flipped_labels,
        {
            "analysts.label_share",
            "analysts.fraud_rate_z",
            "analysts.fraud_to_genuine_share",
            "labels.conflicting_labels",
        },
    ),
    "renamed_column": (renamed_column, {"events_files.schema"}),
}
