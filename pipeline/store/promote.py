"""Late labels on sampled-out events: find the held rows and move them into ``events``.

A chargeback often arrives weeks after an allowed event that sampling set aside, and such
a missed fraud is the most valuable row there is. Sampled-out events are therefore held
(``held/``) for ``hold_days``; the label's event id is looked up there with a lazy scan
that reads only the ``event_id`` column of each file before the matching rows.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import polars as pl

from pipeline.store.files import FEEDBACK, HELD, PART_GLOB


def _files(root: Path, dataset: str) -> list[str]:
    return sorted(str(p) for p in (root / dataset).glob(f"day=*/{PART_GLOB}"))


def held_rows(root: Path, event_ids: Collection[str]) -> pl.DataFrame | None:
    """The held rows of ``event_ids`` (None when none is held)."""
    files = _files(root, HELD)
    if not files or not event_ids:
        return None
    found = (
        pl.scan_parquet(files, hive_partitioning=False)
        .filter(pl.col("event_id").is_in(list(event_ids)))
        .unique(subset="event_id", keep="first", maintain_order=True)
        .collect()
    )
    return found if found.height else None


def labelled_ids(root: Path) -> set[str]:
    """Every event id the stored feedback labels (a restart's promotion candidates)."""
    files = _files(root, FEEDBACK)
    if not files:
        return set()
    ids = pl.scan_parquet(files, hive_partitioning=False).select("event_id").unique().collect()
    return set(ids.get_column("event_id").to_list())
