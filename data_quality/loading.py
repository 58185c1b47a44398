"""Reading the dataset the gate checks, file by file, without trusting any file's schema.

The layout is the one the simulator writes and ``models.data.load_event_log`` reads::

    DIR/events/day=YYYY-MM-DD/part-*.parquet     columns of event_log_schema()
    DIR/feedback/day=YYYY-MM-DD/*.parquet        columns of feedback_schema()

Each file's own schema is recorded (one row per file and schema column: the dtype found, or
``absent``, beside the schema's) so the schema suite can name the file that lost or retyped
a column. Only the columns that carry the schema's dtype are read into the combined
frame; a mistyped column is left out there (its rows read as null) rather than coerced.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from data_quality.exceptions import DatasetError
from schemas.tabular import event_log_schema, feedback_schema

log = logging.getLogger(__name__)

EVENTS_DIR = "events"
FEEDBACK_DIR = "feedback"
#: the column of a files table that names the file
FILE_COLUMN = "file"
#: the other columns of a files table: one row per (file, schema column)
COLUMN = "column"
DTYPE = "dtype"
EXPECTED_DTYPE = "expected_dtype"
#: the dtype a files table gives a column the file lacks
ABSENT = "absent"


@dataclass(frozen=True, slots=True)
class Table:
    """One dataset: the combined rows, and the schema each of its files declared."""

    name: str
    frame: pl.DataFrame
    #: one row per (file, schema column): the dtype the file has and the schema's
    files: pl.DataFrame
    #: schema columns that no file holds with the schema's dtype
    absent: tuple[str, ...]

    @property
    def height(self) -> int:
        return self.frame.height

    def has(self, *columns: str) -> bool:
        return all(c in self.frame.columns for c in columns)


@dataclass(frozen=True, slots=True)
class Dataset:
    """The events and the labels of one folder."""

    root: Path
    events: Table
    feedback: Table


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("day=*/*.parquet") if not p.name.startswith("."))


def _read_table(name: str, root: Path, folder: Path, schema: dict[str, pl.DataType]) -> Table:
    file_rows: list[dict[str, str]] = []
    frames: list[pl.DataFrame] = []
    for path in _files(folder):
        relative = path.relative_to(root).as_posix()
        try:
            found = dict(pl.read_parquet_schema(path))
            keep = [c for c, dtype in schema.items() if found.get(c) == dtype]
            frame = pl.read_parquet(path, columns=keep, hive_partitioning=False)
        except (pl.exceptions.PolarsError, OSError) as err:
            raise DatasetError(f"cannot read {path}: {err}") from err
        file_rows += [
            {
                FILE_COLUMN: relative,
                COLUMN: column,
                DTYPE: str(found[column]) if column in found else ABSENT,
                EXPECTED_DTYPE: str(dtype),
            }
            for column, dtype in schema.items()
        ]
        frames.append(frame)
    files = pl.DataFrame(
        file_rows, schema=dict.fromkeys((FILE_COLUMN, COLUMN, DTYPE, EXPECTED_DTYPE), pl.String())
    )
    frames = [f for f in frames if f.width]
    combined = pl.concat(frames, how="diagonal") if frames else pl.DataFrame(schema=schema)
    present = [c for c in schema if c in combined.columns]
    absent = tuple(c for c in schema if c not in combined.columns)
    if absent:
        log.info("columns absent dataset=%s columns=%s", name, ",".join(absent))
    return Table(name=name, frame=combined.select(present), files=files, absent=absent)


def load_dataset(root: Path | str) -> Dataset:
    """Read ``root``'s events and feedback (feedback may be missing: zero labels)."""
    root = Path(root)
    events_dir = root / EVENTS_DIR
    if not _files(events_dir):
        raise DatasetError(
            f"no event files under {events_dir} (expected day=YYYY-MM-DD/part-*.parquet); "
            "pass the folder that `fraudstream simulate --to parquet DIR` or the training "
            "store wrote"
        )
    events = _read_table(EVENTS_DIR, root, events_dir, event_log_schema(with_truth=True))
    feedback = _read_table(FEEDBACK_DIR, root, root / FEEDBACK_DIR, feedback_schema())
    log.info(
        "dataset read root=%s events=%d event_files=%d labels=%d label_files=%d",
        root,
        events.height,
        events.files.height,
        feedback.height,
        feedback.files.height,
    )
    return Dataset(root=root, events=events, feedback=feedback)
