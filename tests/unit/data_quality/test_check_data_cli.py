"""``fraudstream check-data``: exit codes, the one-line verdict and the report files."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app
from tests.unit.data_quality.datasets import copy_of, negative_amounts

runner = CliRunner()


def test_clean_batch_exits_zero_into_the_default_report_folder(
    clean_dir: Path, reference_dir: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    result = runner.invoke(
        app,
        ["check-data", str(clean_dir), "--reference", str(reference_dir)],
        env={"FRAUDSTREAM_HOME": str(home)},
    )

    assert result.exit_code == 0, result.output
    assert "data gate passed" in result.output
    (report,) = (home / "data-quality").iterdir()
    assert (report / "data_docs" / "index.html").is_file()
    assert json.loads((report / "summary.json").read_text())["passed"] is True


def test_bad_batch_exits_non_zero_with_one_line_and_a_report(
    clean_dir: Path, tmp_path: Path
) -> None:
    batch = copy_of(clean_dir, tmp_path / "batch")
    negative_amounts(batch)
    out = tmp_path / "report"

    result = runner.invoke(app, ["check-data", str(batch), "--out", str(out)])

    assert result.exit_code == 1
    verdicts = [line for line in result.output.splitlines() if "data gate FAILED" in line]
    assert len(verdicts) == 1 and "events.amount.range" in verdicts[0]
    assert (out / "data_docs" / "index.html").is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert [f["check"] for f in summary["failed"]] == ["events.amount.range"]
    assert "`events.amount.range`" in (out / "summary.md").read_text()


def test_missing_dataset_is_one_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check-data", str(tmp_path / "nothing")])

    assert result.exit_code == 1
    assert "no event files under" in str(result.exception)
