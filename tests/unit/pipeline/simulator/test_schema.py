"""Generated rows are valid records, and the Parquet dataset has the schemas' columns."""

from __future__ import annotations

from pathlib import Path

import orjson
import polars as pl
import pytest

from pipeline.simulator import ParquetSink, Simulator, SinkError, event_record, feedback_record
from pipeline.simulator.records import EVENT_TYPES
from schemas import Feedback, decode, encode
from schemas.tabular import event_log_schema, feedback_schema
from tests.unit.pipeline.simulator.conftest import Run, small_config


def test_frames_have_exactly_the_tabular_schemas(small_run: Run) -> None:
    assert small_run.events.schema == pl.Schema(event_log_schema())
    assert small_run.feedback.schema == pl.Schema(feedback_schema())


def test_every_event_and_label_survives_encode_then_decode(small_run: Run) -> None:
    for row in small_run.events.iter_rows(named=True):
        record = event_record(row)
        back = decode(EVENT_TYPES[row["event_type"]], encode(record))
        assert back == record
    for row in small_run.feedback.iter_rows(named=True):
        record = feedback_record(row)
        assert decode(Feedback, encode(record)) == record


def test_rows_decode_straight_from_json_without_the_helpers(small_run: Run) -> None:
    """The frame's own values, as any producer would send them, pass the door."""
    sample = small_run.events.sample(500, seed=1)
    for row in sample.drop("is_fraud", "fraud_scenario").iter_rows(named=True):
        obj = {k: v for k, v in row.items() if v is not None}
        decode(EVENT_TYPES[obj.pop("event_type")], orjson.dumps(obj))


def test_parquet_dataset_is_partitioned_by_day(tmp_path: Path) -> None:
    sim = Simulator(small_config(events=4_000, days=4))
    sink = ParquetSink(tmp_path)
    days = []
    for out in sim:
        sink.write(out)
        days.append(out.day)
    events = pl.read_parquet(tmp_path / "events", hive_partitioning=True)
    assert events.height == 4_000
    assert events.drop("day").schema == pl.Schema(event_log_schema())
    assert (events["ts"].dt.date() == events["day"]).all()
    feedback = pl.read_parquet(tmp_path / "feedback", hive_partitioning=True)
    assert feedback.drop("day").schema == pl.Schema(feedback_schema())
    assert (feedback["ts"].dt.date() == feedback["day"]).all()
    folders = sorted(p.name for p in (tmp_path / "events").iterdir())
    assert folders == [f"day={d:%Y-%m-%d}" for d in days[:4]]
    assert all((tmp_path / "events" / f / "part-0.parquet").exists() for f in folders)


def _write(directory: Path, seed: int) -> dict[str, bytes]:
    sink = ParquetSink(directory)
    for out in Simulator(small_config(events=3_000, days=3, seed=seed)):
        sink.write(out)
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*.parquet"))
    }


def test_parquet_output_is_byte_identical_for_a_seed(tmp_path: Path) -> None:
    first, second = _write(tmp_path / "a", 5), _write(tmp_path / "b", 5)
    assert first == second
    assert _write(tmp_path / "c", 6) != first


def test_parquet_sink_refuses_to_mix_datasets(tmp_path: Path) -> None:
    _write(tmp_path, 5)
    with pytest.raises(SinkError, match="--overwrite"):
        ParquetSink(tmp_path)
    ParquetSink(tmp_path, overwrite=True)
    assert not any((tmp_path / "events").iterdir())
