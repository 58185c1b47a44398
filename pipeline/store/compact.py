"""Merge a day's small part files into one, without ever losing or doubling a row.

Each flush adds a part file, so a busy day collects thousands; compaction reads the small
ones, drops duplicate keys (first row wins), writes one file and deletes the inputs. A
journal written before the merged file is renamed into place lists the inputs: a restart
that finds a journal deletes the inputs when the merged file exists (the merge finished)
and otherwise only the journal (the inputs are intact).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from pipeline.store.files import DATASETS, fsync_dir, part_files, publish, write_temp

log = logging.getLogger(__name__)

JOURNAL_PREFIX = ".compact-"


def _small_parts(folder: Path, max_bytes: int) -> list[Path]:
    return [p for p in part_files(folder) if p.stat().st_size < max_bytes]


def compact_day(
    folder: Path, key: Sequence[str], sort: Sequence[str], min_files: int, max_bytes: int
) -> int:
    """Merge the part files of ``folder`` smaller than ``max_bytes`` when there are at least
    ``min_files`` of them; returns the number of files merged (0: nothing to do)."""
    inputs = _small_parts(folder, max_bytes)
    if len(inputs) < max(min_files, 2):
        return 0
    merged = pl.concat([pl.read_parquet(p) for p in inputs], how="diagonal_relaxed")
    rows = merged.height
    merged = merged.unique(subset=list(key), keep="first", maintain_order=True).sort(
        list(sort), maintain_order=True
    )
    tmp, final = write_temp(merged, folder)
    journal = folder / f"{JOURNAL_PREFIX}{final.stem}.json"
    journal_tmp = journal.with_suffix(".tmp")
    journal_tmp.write_text(
        json.dumps({"output": final.name, "inputs": [p.name for p in inputs]}), encoding="utf-8"
    )
    journal_tmp.replace(journal)
    fsync_dir(folder)
    publish(tmp, final)
    for path in inputs:
        path.unlink(missing_ok=True)
    fsync_dir(folder)
    journal.unlink()
    log.info(
        "compacted folder=%s files=%d rows=%d kept=%d", folder, len(inputs), rows, merged.height
    )
    return len(inputs)


def recover(root: Path) -> int:
    """Finish or undo compactions a crash interrupted; returns how many journals it found."""
    found = 0
    for dataset in DATASETS:
        for journal in (root / dataset).glob(f"day=*/{JOURNAL_PREFIX}*.json"):
            found += 1
            try:
                plan = json.loads(journal.read_text(encoding="utf-8"))
                output, inputs = plan["output"], plan["inputs"]
            except (OSError, ValueError, KeyError, TypeError) as err:
                # a journal is renamed into place whole; an unreadable one was never valid
                log.warning("compaction journal unreadable path=%s error=%s", journal, err)
                journal.unlink(missing_ok=True)
                continue
            if (journal.parent / output).exists():
                for name in inputs:
                    (journal.parent / name).unlink(missing_ok=True)
                log.info("compaction finished after restart folder=%s", journal.parent)
            fsync_dir(journal.parent)
            journal.unlink(missing_ok=True)
        for stale in (root / dataset).glob(f"day=*/{JOURNAL_PREFIX}*.tmp"):
            stale.unlink(missing_ok=True)
    return found
