"""Rows waiting to be written, grouped by dataset and day, and how they are written."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.store.columns import EVENT_SCHEMA, FEEDBACK_SCHEMA, frame
from pipeline.store.files import FEEDBACK, day_dir, write_part
from pipeline.store.join import Coord

SORT_COLUMNS: tuple[str, ...] = ("ts", "event_id")


def schema_of(dataset: str) -> dict[str, pl.DataType]:
    return FEEDBACK_SCHEMA if dataset == FEEDBACK else EVENT_SCHEMA


@dataclass
class Written:
    """What one flush put on disk."""

    files: list[Path] = field(default_factory=list)
    rows: Counter[str] = field(default_factory=Counter)
    #: the messages whose rows are now durable
    coords: list[Coord] = field(default_factory=list)
    #: (dataset, day) folders that received a file
    folders: set[tuple[str, date]] = field(default_factory=set)


class RowBuffer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._rows: dict[tuple[str, date], list[dict[str, Any]]] = {}
        self._coords: list[Coord] = []
        self.size = 0

    def add(self, dataset: str, day: date, row: dict[str, Any], coords: list[Coord]) -> None:
        self._rows.setdefault((dataset, day), []).append(row)
        self._coords.extend(coords)
        self.size += 1

    def flush(self) -> Written:
        """Write one part file per (dataset, day); the buffer is empty afterwards."""
        out = Written()
        for (dataset, day), rows in sorted(self._rows.items()):
            data = frame(rows, schema_of(dataset)).sort(list(SORT_COLUMNS), maintain_order=True)
            out.files.append(write_part(data, day_dir(self.root, dataset, day)))
            out.rows[dataset] += len(rows)
            out.folders.add((dataset, day))
        out.coords = self._coords
        self._rows = {}
        self._coords = []
        self.size = 0
        return out
