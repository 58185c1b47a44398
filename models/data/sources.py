"""Reading raw event tables from disk: the simulator's Parquet layout or any CSV/Parquet.

The simulator writes::

    DIR/events/day=YYYY-MM-DD/part-*.parquet     # schemas.tabular.event_log_schema()
    DIR/feedback/day=YYYY-MM-DD/*.parquet        # schemas.tabular.feedback_schema()

Anything else is a CSV or Parquet file, or a folder of them, read through a column mapping.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from models.data.exceptions import EventLogError
from models.data.mapping import ColumnMapping

EVENTS_DIR = "events"
FEEDBACK_DIR = "feedback"
CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")


def is_simulator_layout(path: Path) -> bool:
    return path.is_dir() and (path / EVENTS_DIR).is_dir()


def _partitioned(path: Path, sub: str) -> list[Path]:
    return sorted(p for p in (path / sub).glob("day=*/*.parquet") if not p.name.startswith("."))


def _read_parquet_files(files: list[Path]) -> pl.DataFrame:
    frames = [pl.read_parquet(f, hive_partitioning=False) for f in files]
    return pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]


def read_simulator(path: Path) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Raw events and feedback (None when the log has no feedback folder)."""
    files = _partitioned(path, EVENTS_DIR)
    if not files:
        raise EventLogError(
            f"no event files under {path / EVENTS_DIR} (expected day=*/part-*.parquet); "
            "generate a log with `fraudstream simulate` or pass a CSV/Parquet with --mapping"
        )
    events = _read_parquet_files(files)
    feedback_files = _partitioned(path, FEEDBACK_DIR)
    feedback = _read_parquet_files(feedback_files) if feedback_files else None
    return events, feedback


def _kind(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    return None


def read_table(path: Path, mapping: ColumnMapping) -> pl.DataFrame:
    """One CSV/Parquet file, or every such file under a folder (sorted by path)."""
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and _kind(p) and not any(s.startswith(".") for s in p.parts)
        )
        kinds = {mapping.format or _kind(p) for p in files}
        if not files:
            raise EventLogError(f"no CSV or Parquet files under {path}")
        if len(kinds) > 1:
            raise EventLogError(
                f"{path} mixes CSV and Parquet files; set `format:` in the mapping "
                "or point at one file"
            )
    elif path.is_file():
        files = [path]
    else:
        raise EventLogError(f"event log {path} does not exist")
    kind = mapping.format or _kind(files[0])
    if kind is None:
        raise EventLogError(f"cannot tell the format of {path}; set `format: csv|parquet`")
    if kind == "parquet":
        return _read_parquet_files(files)
    separator = "\t" if files[0].name.lower().endswith(".tsv") else mapping.csv.separator
    frames = [
        pl.read_csv(
            f,
            separator=separator,
            infer_schema=False,
            null_values=mapping.csv.null_values,
        )
        for f in files
    ]
    return pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
