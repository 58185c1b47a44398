"""The data gate on simulated data, clean and corrupted, through real Great Expectations."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from data_quality import GateConfig, run_gate
from tests.unit.data_quality.datasets import (
    CORRUPTIONS,
    ROGUE,
    copy_of,
    duplicated_event_ids,
    flipped_labels,
    negative_amounts,
    renamed_column,
)

NO_DOCS = GateConfig(data_docs=False)


def test_clean_batch_passes_against_its_reference(
    clean_dir: Path, reference_dir: Path, tmp_path: Path
) -> None:
    result = run_gate(clean_dir, reference_dir, tmp_path / "report")

    assert result.passed, result.headline()
    assert result.failed == ()
    assert result.skipped == ()  # with a reference every check runs
    assert result.evaluated > 60
    assert result.data_docs == tmp_path / "report" / "data_docs" / "index.html"
    assert result.data_docs.is_file()
    summary = json.loads(result.summary_json.read_text())
    assert summary["passed"] is True and summary["failed"] == []
    assert "Data gate PASSED" in result.summary_markdown.read_text()


def test_corrupted_batch_fails_and_names_each_failed_expectation(
    clean_dir: Path, reference_dir: Path, tmp_path: Path
) -> None:
    batch = copy_of(clean_dir, tmp_path / "batch")
    for corrupt in (negative_amounts, duplicated_event_ids, flipped_labels, renamed_column):
        corrupt(batch)

    result = run_gate(batch, reference_dir, tmp_path / "report")

    assert not result.passed
    failed = {f.check: f for f in result.failed}
    expected = set().union(*(checks for _, checks in CORRUPTIONS.values()))
    # the flipped labels also move the fraud share of the labels away from the reference
    expected.add("rates.fraud_share")
    assert expected <= set(failed), sorted(failed)

    amount = failed["events.amount.range"]
    assert amount.expectation_type == "expect_column_values_to_be_between"
    assert amount.unexpected_count == 5
    assert all(example["amount"] < 0 for example in amount.examples)
    duplicates = failed["events.event_id.unique"]
    assert duplicates.unexpected_count == 40  # 20 ids, each seen twice
    rogue = failed["analysts.fraud_rate_z"]
    assert [e["analyst_id"] for e in rogue.examples] == [ROGUE]
    assert [e["analyst_id"] for e in failed["analysts.label_share"].examples] == [ROGUE]
    renamed = failed["events_files.schema"]
    assert renamed.unexpected_count == len(list((batch / "events").glob("day=*/*.parquet")))
    assert {(e["column"], e["dtype"]) for e in renamed.examples} == {("account_id", "absent")}
    assert 0.0 <= failed["rates.fraud_share"].observed <= 1.0

    summary = json.loads(result.summary_json.read_text())
    assert summary["passed"] is False
    assert expected <= {f["check"] for f in summary["failed"]}
    markdown = result.summary_markdown.read_text()
    assert all(f"`{check}`" in markdown for check in expected)
    assert result.data_docs is not None and result.data_docs.is_file()


@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
def test_each_corruption_alone_is_caught_by_its_expectation(
    name: str, clean_dir: Path, tmp_path: Path
) -> None:
    corrupt, checks = CORRUPTIONS[name]
    batch = copy_of(clean_dir, tmp_path / "batch")
    corrupt(batch)

    result = run_gate(batch, out_dir=tmp_path / "report", config=NO_DOCS)

    assert not result.passed
    assert set(result.failed_checks) == checks


def test_label_files_written_before_fraud_type_existed_still_pass(
    clean_dir: Path, reference_dir: Path, tmp_path: Path
) -> None:
    """``fraud_type`` was added to the labels later: a store's older files lack it, and the
    gate takes that as null; a label file missing an original column still fails."""
    batch = copy_of(clean_dir, tmp_path / "batch")
    files = sorted((batch / "feedback").glob("day=*/*.parquet"))
    for path in files:
        pl.read_parquet(path).drop("fraud_type").write_parquet(path)

    assert run_gate(batch, reference_dir, tmp_path / "old", NO_DOCS).passed

    pl.read_parquet(files[0]).drop("source").write_parquet(files[0])
    result = run_gate(batch, reference_dir, tmp_path / "broken", NO_DOCS)
    assert "feedback_files.schema" in result.failed_checks
