"""The store's directory: day partitions, crash-safe part files, and the writer's lock.

Layout (the one :func:`models.data.load_event_log` reads)::

    DIR/events/day=YYYY-MM-DD/part-<uuid>.parquet    kept events, with their scores
    DIR/feedback/day=YYYY-MM-DD/part-<uuid>.parquet  labels, by arrival day
    DIR/held/day=YYYY-MM-DD/part-<uuid>.parquet      sampled-out events, until a label
                                                     promotes them or they age out

A part file is written under a dot-name, fsynced, renamed into place and its directory
fsynced: a reader (and a restarted store) sees whole files or nothing.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import uuid
from datetime import date
from pathlib import Path
from typing import IO

import polars as pl

from pipeline.store.exceptions import StoreError, StoreLockedError

log = logging.getLogger(__name__)

EVENTS = "events"
FEEDBACK = "feedback"
HELD = "held"
DATASETS: tuple[str, ...] = (EVENTS, FEEDBACK, HELD)
PART_GLOB = "part-*.parquet"
TEMP_PREFIX = ".part-"
LOCK_FILE = ".store.lock"


def day_dir(root: Path, dataset: str, day: date) -> Path:
    return root / dataset / f"day={day.isoformat()}"


def parse_day(path: Path) -> date | None:
    """The day of a ``day=YYYY-MM-DD`` folder, None for anything else."""
    name = path.name
    if not name.startswith("day="):
        return None
    try:
        return date.fromisoformat(name[4:])
    except ValueError:
        return None


def days(root: Path, dataset: str) -> list[date]:
    """The days a dataset has folders for, oldest first."""
    base = root / dataset
    if not base.is_dir():
        return []
    found = (parse_day(p) for p in base.iterdir() if p.is_dir())
    return sorted(d for d in found if d is not None)


def part_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(PART_GLOB)) if folder.is_dir() else []


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_temp(data: pl.DataFrame, folder: Path) -> tuple[Path, Path]:
    """Write ``data`` under a dot-name in ``folder`` and fsync it; returns (temp, final)."""
    folder.mkdir(parents=True, exist_ok=True)
    name = uuid.uuid4().hex
    tmp = folder / f"{TEMP_PREFIX}{name}.parquet.tmp"
    final = folder / f"part-{name}.parquet"
    try:
        data.write_parquet(tmp, compression="zstd", statistics=True)
        with tmp.open("rb+") as handle:
            os.fsync(handle.fileno())
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise StoreError(
            f"could not write {tmp}: {err}; check the disk space and permissions of {folder}"
        ) from err
    return tmp, final


def publish(tmp: Path, final: Path) -> None:
    """Rename a written temp file into place and make the rename durable."""
    try:
        os.replace(tmp, final)
        fsync_dir(final.parent)
    except OSError as err:
        raise StoreError(f"could not rename {tmp} to {final}: {err}") from err


def write_part(data: pl.DataFrame, folder: Path) -> Path:
    """Write ``data`` as a new part file of ``folder``, durably and atomically."""
    tmp, final = write_temp(data, folder)
    publish(tmp, final)
    return final


def remove_temps(root: Path) -> int:
    """Delete half-written part files left by a crash; returns how many."""
    removed = 0
    for dataset in DATASETS:
        for tmp in (root / dataset).glob(f"day=*/{TEMP_PREFIX}*.tmp"):
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


def drop_days_before(root: Path, dataset: str, oldest: date) -> list[date]:
    """Delete a dataset's day folders older than ``oldest``; returns the days removed."""
    dropped = [d for d in days(root, dataset) if d < oldest]
    for day in dropped:
        shutil.rmtree(day_dir(root, dataset, day), ignore_errors=True)
    return dropped


class DirectoryLock:
    """An exclusive lock on the store directory: two writers would break the dedupe."""

    def __init__(self, root: Path) -> None:
        self.path = root / LOCK_FILE
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            handle.close()
            raise StoreLockedError(
                f"another `fraudstream store` writes to {self.path.parent}; stop it, or give "
                "this one another --dir"
            ) from err
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
