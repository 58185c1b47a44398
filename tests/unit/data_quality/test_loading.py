"""Reading a dataset file by file: a column lost in one file is named, not coerced."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from data_quality import DatasetError, load_dataset
from tests.unit.data_quality.datasets import copy_of


def test_a_column_renamed_in_one_file_is_named_with_that_file(
    clean_dir: Path, tmp_path: Path
) -> None:
    batch = copy_of(clean_dir, tmp_path / "batch")
    victim = sorted((batch / "events").glob("day=*/*.parquet"))[2]
    pl.read_parquet(victim).rename({"amount": "amount_eur"}).write_parquet(victim)
    retyped = sorted((batch / "events").glob("day=*/*.parquet"))[4]
    frame = pl.read_parquet(retyped)
    frame.with_columns(pl.col("lat").cast(pl.String)).write_parquet(retyped)

    events = load_dataset(batch).events

    wrong = events.files.filter(pl.col("dtype") != pl.col("expected_dtype"))
    assert wrong.select("column", "dtype").rows() == [("amount", "absent"), ("lat", "String")]
    assert wrong.get_column("file").to_list() == [
        victim.relative_to(batch).as_posix(),
        retyped.relative_to(batch).as_posix(),
    ]
    # the other files' amounts are kept; the lost ones read as null (not_null then fails)
    assert events.frame.schema["amount"] == pl.Float64
    assert events.frame.schema["lat"] == pl.Float64
    assert events.frame.get_column("lat").null_count() >= frame.height


def test_no_events_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no event files under"):
        load_dataset(tmp_path)
