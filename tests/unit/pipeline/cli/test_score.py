"""``fraudstream score`` on a tiny trained baseline: any log, one row per event."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import typer
from typer.testing import CliRunner, Result

from models.exceptions import RegistryError
from models.features import MappingError
from pipeline.cli.score import score
from tests.unit.models.synthetic import synthetic_events
from tests.unit.pipeline.cli.trained_home import TrainedHome, trained_home

COLUMNS = ["event_id", "ts", "account_id", "event_type", "fraud_score", "anomaly_score", "decision"]
#: a processor's names for our fields
RENAMED = {
    "event_id": "TxnRef",
    "account_id": "Customer",
    "ts": "When",
    "amount": "Amt",
    "merchant_id": "Shop",
    "channel": "Entry",
    "country": "Ctry",
    "event_type": "Kind",
}
MAPPING = "columns:\n" + "".join(f"  {field}: {column}\n" for field, column in RENAMED.items())


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> TrainedHome:
    return trained_home(tmp_path_factory.mktemp("score"))


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """test root"""

    app.command("score")(score)
    return app


def _run(cli: typer.Typer, setup: TrainedHome, *args: str) -> Result:
    return CliRunner().invoke(cli, ["score", *args], env=setup.env)


def test_scores_every_event_with_the_current_model(
    cli: typer.Typer, setup: TrainedHome, tmp_path: Path
) -> None:
    out = tmp_path / "scores.csv"
    result = _run(cli, setup, "--data", str(setup.data), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert setup.version in result.output and "review" in result.output
    scores = pl.read_csv(out)
    assert scores.columns == COLUMNS
    events = pl.read_parquet(setup.data / "events" / "**" / "*.parquet")
    assert scores.height == events.height
    assert scores["event_id"].n_unique() == scores.height
    assert scores["ts"].str.ends_with("Z").all()
    assert scores["ts"].to_list() == sorted(scores["ts"].to_list())  # time order
    assert scores["fraud_score"].is_between(0, 1).all()
    assert set(scores["decision"].unique()) <= {"allow", "review", "block"}
    # the obvious frauds of the synthetic log come out on top
    fraud_ids = set(events.filter(pl.col("is_fraud"))["event_id"])
    ranked = scores.sort("fraud_score", descending=True).head(len(fraud_ids))
    assert len(fraud_ids & set(ranked["event_id"])) > 0.5 * len(fraud_ids)


def _csv_log(path: Path, *, drop: tuple[str, ...] = ()) -> Path:
    """The synthetic events (no labels) as a processor CSV with its own column names."""
    events = synthetic_events(accounts=25, days=10, seed=11).drop("is_fraud", "fraud_scenario")
    frame = events.drop(*drop).with_columns(pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
    frame.rename({k: v for k, v in RENAMED.items() if k in frame.columns}).write_csv(path)
    return path


def test_a_csv_with_renamed_columns_scores_like_the_same_events_in_our_names(
    cli: typer.Typer, setup: TrainedHome, tmp_path: Path
) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING)
    renamed = _csv_log(tmp_path / "export.csv")
    ours = tmp_path / "ours.parquet"
    synthetic_events(accounts=25, days=10, seed=11).drop(
        "is_fraud", "fraud_scenario"
    ).write_parquet(ours)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    first = _run(
        cli,
        setup,
        "--model",
        setup.version,
        "--data",
        str(renamed),
        "--mapping",
        str(mapping),
        "--out",
        str(a),
    )
    assert first.exit_code == 0, first.output
    second = _run(cli, setup, "--data", str(ours), "--out", str(b))
    assert second.exit_code == 0, second.output
    left, right = pl.read_csv(a), pl.read_csv(b)
    assert left["event_id"].to_list() == right["event_id"].to_list()
    assert left["fraud_score"].to_list() == pytest.approx(right["fraud_score"].to_list(), abs=1e-6)


def test_missing_optional_columns_are_scored_as_not_available(
    cli: typer.Typer, setup: TrainedHome, tmp_path: Path
) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(MAPPING)
    optional = ("lat", "lon", "device_id", "merchant_category", "payee_id", "ip", "card_id")
    sparse = _csv_log(tmp_path / "sparse.csv", drop=optional)
    full = _csv_log(tmp_path / "full.csv")
    out_sparse, out_full = tmp_path / "sparse_scores.csv", tmp_path / "full_scores.csv"
    for data, out in ((sparse, out_sparse), (full, out_full)):
        result = _run(cli, setup, "--data", str(data), "--mapping", str(mapping), "--out", str(out))
        assert result.exit_code == 0, result.output
    left, right = pl.read_csv(out_sparse), pl.read_csv(out_full)
    assert left.height == right.height == pl.read_csv(sparse).height
    assert left["fraud_score"].is_between(0, 1).all()
    # fewer features -> other scores (the missing fields really were read as absent)
    assert left["fraud_score"].to_list() != right["fraud_score"].to_list()


def test_unknown_version_and_bad_mapping_fail_with_a_clear_error(
    cli: typer.Typer, setup: TrainedHome, tmp_path: Path
) -> None:
    out = str(tmp_path / "x.csv")
    result = _run(cli, setup, "--model", "v9999-nope", "--data", str(setup.data), "--out", out)
    assert isinstance(result.exception, RegistryError)
    assert "v9999-nope" in str(result.exception) and setup.version in str(result.exception)
    bad = tmp_path / "bad.csv"
    bad.write_text("id,acct\n1,a\n")
    result = _run(cli, setup, "--data", str(bad), "--out", out)
    assert isinstance(result.exception, MappingError)
    assert not Path(out).exists()
