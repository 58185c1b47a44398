"""Where the stream goes: the sink protocol, the Parquet dataset and an in-memory sink.

The Parquet dataset is hive-partitioned by UTC day and written day by day, each file
renamed into place once complete::

    DIR/events/day=YYYY-MM-DD/part-0.parquet     columns of schemas.tabular.event_log_schema()
    DIR/feedback/day=YYYY-MM-DD/part-0.parquet   columns of schemas.tabular.feedback_schema()
    DIR/simulation.json                          options and counts of the run
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from pipeline.simulator.exceptions import SinkError
from pipeline.simulator.generator import DayOutput

DATASETS = ("events", "feedback")
MANIFEST = "simulation.json"


class Sink(Protocol):
    def write(self, out: DayOutput) -> None: ...

    def close(self) -> None: ...


class MemorySink:
    """Keeps every day in memory (tests, notebooks)."""

    def __init__(self) -> None:
        self.days: list[DayOutput] = []

    def write(self, out: DayOutput) -> None:
        self.days.append(out)

    def close(self) -> None:
        pass

    def events(self) -> pl.DataFrame:
        return pl.concat([d.events for d in self.days])

    def feedback(self) -> pl.DataFrame:
        return pl.concat([d.feedback for d in self.days])


class ParquetSink:
    """Writes each day's events and labels as soon as the day is generated."""

    def __init__(self, directory: Path, *, overwrite: bool = False) -> None:
        self.directory = Path(directory)
        self.parts: Counter[tuple[str, str]] = Counter()
        self.rows: Counter[str] = Counter()
        for dataset in DATASETS:
            path = self.directory / dataset
            if path.exists() and any(path.iterdir()):
                if not overwrite:
                    raise SinkError(
                        f"{path} already holds a dataset; choose another directory or pass "
                        "--overwrite to replace it"
                    )
                shutil.rmtree(path)
        try:
            for dataset in DATASETS:
                (self.directory / dataset).mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise SinkError(f"cannot create {self.directory}: {err}") from err

    def write(self, out: DayOutput) -> None:
        for dataset, frame in zip(DATASETS, (out.events, out.feedback), strict=True):
            if frame.height:
                self._write(dataset, f"day={out.day:%Y-%m-%d}", frame)

    def _write(self, dataset: str, partition: str, frame: pl.DataFrame) -> None:
        folder = self.directory / dataset / partition
        part = self.parts[(dataset, partition)]
        self.parts[(dataset, partition)] += 1
        path = folder / f"part-{part}.parquet"
        tmp = folder / f".part-{part}.parquet.tmp"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            frame.write_parquet(tmp, compression="zstd", statistics=True)
            tmp.replace(path)
        except OSError as err:
            raise SinkError(f"cannot write {path}: {err}") from err
        self.rows[dataset] += frame.height

    def write_manifest(self, manifest: dict[str, Any]) -> Path:
        """Options and counts of the run beside the data (no wall-clock time: reproducible)."""
        path = self.directory / MANIFEST
        path.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
        return path

    def close(self) -> None:
        pass
