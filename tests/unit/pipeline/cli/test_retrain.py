"""``fraudstream retrain``: refuses bad data with one line, retrains on clean data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from models.registry import Registry
from pipeline.cli.retrain import retrain_command
from tests.unit.data_quality.datasets import copy_of, negative_amounts, renamed_column
from tests.unit.models.retrain.conftest import (  # noqa: F401  (session fixtures)
    Champion,
    champion,
    new_batch,
    reference_window,
    tree_digest,
)


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """test root"""

    app.command("retrain")(retrain_command)
    return app


def _home(tmp_path: Path, champion: Champion) -> Path:  # noqa: F811
    home = tmp_path / "home"
    shutil.copytree(champion.registry_root, home / "registry")
    return home


def test_bad_batch_exits_non_zero_with_one_line(
    cli: typer.Typer,
    tmp_path: Path,
    new_batch: Path,  # noqa: F811
    champion: Champion,  # noqa: F811
) -> None:
    bad = copy_of(new_batch, tmp_path / "bad")
    negative_amounts(bad)
    renamed_column(bad)
    home = _home(tmp_path, champion)
    before = tree_digest(home / "registry")
    out = tmp_path / "report"
    result = CliRunner().invoke(
        cli,
        ["retrain", "--data", str(bad), "--out", str(out), "--threads", "1"],
        env={"FRAUDSTREAM_HOME": str(home)},
    )
    assert result.exit_code == 1, result.output
    assert "retrain refused" in result.output
    assert "events.amount.range" in result.output
    assert tree_digest(home / "registry") == before
    assert json.loads((out / "retrain.json").read_text())["outcome"] == "refused"


def test_clean_batch_from_the_store_default_writes_a_report(
    cli: typer.Typer,
    tmp_path: Path,
    new_batch: Path,  # noqa: F811
    champion: Champion,  # noqa: F811
) -> None:
    home = _home(tmp_path, champion)
    shutil.copytree(new_batch, home / "store")  # the training store's layout, default --data
    result = CliRunner().invoke(
        cli,
        ["retrain", "--no-publish", "--threads", "1"],
        env={"FRAUDSTREAM_HOME": str(home)},
    )
    assert result.exit_code == 0, result.output
    registry = Registry(home / "registry")
    # the champion, the challenger as trained, and it with the champion's false-alarm shares
    assert len(registry.versions()) == 3
    trained, challenger = registry.versions()[1:]
    assert registry.manifest(challenger).parent_version == champion.version
    assert registry.manifest(challenger).params["thresholds_from"]["version"] == trained
    (run_dir,) = (home / "retrain").iterdir()
    saved = json.loads((run_dir / "retrain.json").read_text())
    assert saved["challenger"] == challenger and saved["trained"] == trained
    assert saved["outcome"] in ("promoted", "kept")
    assert registry.current() == (
        challenger if saved["outcome"] == "promoted" else champion.version
    )
    assert (run_dir / "report.html").is_file()
    assert (home / "regression" / "regression.json").is_file()


def test_an_unknown_threshold_policy_is_refused_before_anything_runs(
    cli: typer.Typer, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        cli,
        ["retrain", "--no-publish", "--thresholds", "lowest"],
        env={"FRAUDSTREAM_HOME": str(tmp_path / "home")},
    )
    assert result.exit_code == 2
    said = "".join(result.output.replace("│", " ").split())  # the error box, unwrapped
    assert "choosechannel-fpr,champion-fpr,own" in said
    assert not (tmp_path / "home" / "retrain").exists()
