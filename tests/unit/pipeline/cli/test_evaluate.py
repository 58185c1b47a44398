"""``fraudstream evaluate``: the report, its plots and the model card, for one or more models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner, Result

from models.baseline import train_baseline
from models.card import CARD_FILE, EVALUATION_START
from models.data import load_event_log
from models.evaluation.harness import FRESH_FOREST, FRESH_GBM
from pipeline.cli import evaluate as evaluate_module
from pipeline.cli.evaluate import evaluate, simulation_notes
from tests.unit.models.conftest import FAST_PARAMS
from tests.unit.pipeline.cli.trained_home import TrainedHome, trained_home

PLOTS = {
    "pr_curves.png",
    "roc_curves.png",
    "score_distributions.png",
    "scenario_recall.png",
    "daily_account_precision.png",
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> TrainedHome:
    return trained_home(tmp_path_factory.mktemp("evaluate"))


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """test root"""

    app.command("evaluate")(evaluate)
    return app


def _run(cli: typer.Typer, setup: TrainedHome, *args: str) -> Result:
    return CliRunner().invoke(cli, ["evaluate", *args], env=setup.env)


def test_report_plots_and_card_in_the_version_folder(
    cli: typer.Typer, setup: TrainedHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evaluate_module, "console", Console(width=250))  # room for the tables
    result = _run(cli, setup, "--data", str(setup.data))
    assert result.exit_code == 0, result.output
    for name in (setup.version, FRESH_GBM, FRESH_FOREST, "AUC", "account_takeover"):
        assert name in result.output
    folder = setup.registry.path(setup.version) / "evaluation"
    assert {p.name for p in folder.glob("*.png")} >= PLOTS
    markdown = (folder / "report.md").read_text()
    assert "fraudstream evaluate --data" in markdown
    for plot in PLOTS:
        assert f"]({plot})" in markdown
        assert f'src="{plot}"' in (folder / "report.html").read_text()
    metrics = json.loads((folder / "metrics.json").read_text())
    names = [r["name"] for r in metrics["results"]]
    assert names == [setup.version, FRESH_GBM, FRESH_FOREST]
    first = metrics["results"][0]["metrics"]
    assert 0.9 < first["roc_auc"] <= 1.0 and first["daily_account_precision_at_100"] > 0
    card = (setup.registry.path(setup.version) / CARD_FILE).read_text()
    assert card.count(EVALUATION_START) == 1
    assert f"| {FRESH_GBM} |" in card and "recall @ 1 % alerts" in card
    # the model file is untouched: the registry still verifies it
    setup.registry.verify(setup.version)


def test_several_models_into_an_out_folder(
    cli: typer.Typer, setup: TrainedHome, tmp_path: Path
) -> None:
    other = train_baseline(load_event_log(setup.data), setup.registry, FAST_PARAMS, promote=False)
    out = tmp_path / "docs" / "evaluation"
    result = _run(
        cli,
        setup,
        "--model",
        other,
        "--model",
        setup.version,
        "--data",
        str(setup.data),
        "--out",
        str(out),
        "--no-card",
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert [r["name"] for r in metrics["results"]] == [
        other,
        setup.version,
        FRESH_GBM,
        FRESH_FOREST,
    ]
    assert f"--model {other} --model {setup.version}" in metrics["command"]
    assert {p.name for p in out.glob("*.png")} >= PLOTS
    assert not (setup.registry.path(other) / "evaluation").exists()
    assert EVALUATION_START not in (setup.registry.path(other) / CARD_FILE).read_text()


def test_simulation_options_are_stated(tmp_path: Path) -> None:
    assert simulation_notes(tmp_path) == {}
    (tmp_path / "simulation.json").write_text(
        json.dumps({"options": {"seed": 7, "events": 300000, "fraud_rate": 0.007, "other": 1}})
    )
    assert simulation_notes(tmp_path) == {
        "simulated with": "seed 7, events 300000, fraud_rate 0.007"
    }
