"""Offline scoring of a whole log: the stream's replay, the model's scores, the worker's rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from models.data import replay_log
from models.evaluation import decisions_for, score_log
from models.evaluation.offline import SCORE_COLUMNS
from models.registry import Registry
from models.serving import OnnxScorer, decide
from tests.unit.models.conftest import Trained


@pytest.fixture(scope="module")
def scorer(trained: Trained) -> OnnxScorer:
    return OnnxScorer.load(Registry(trained.registry_root))


def test_every_event_scored_in_log_order(trained: Trained, scorer: OnnxScorer) -> None:
    seen: list[tuple[str, int, int]] = []
    scores = score_log(
        trained.log, scorer, batch_size=500, progress=lambda *args: seen.append(args)
    )
    frame = scores.frame
    assert frame.columns == list(SCORE_COLUMNS)
    assert frame.get_column("event_id").to_list() == trained.log.events["event_id"].to_list()
    assert scores.version == trained.version
    assert ("score", len(frame), len(frame)) in seen and ("replay", 0, len(frame)) in seen
    # the same numbers as scoring the replay's windows directly
    replayed = replay_log(trained.log, window=scorer.window)
    rows = np.arange(0, len(frame), 97)
    fraud, anomaly = scorer.score(*replayed.replay.windows(rows))
    np.testing.assert_allclose(frame["fraud_score"].to_numpy()[rows], fraud, atol=1e-6)
    np.testing.assert_allclose(frame["anomaly_score"].to_numpy()[rows], anomaly, atol=1e-6)


def test_decisions_follow_the_models_thresholds(trained: Trained, scorer: OnnxScorer) -> None:
    frame = score_log(trained.log, scorer).frame
    for row in frame.sample(300, seed=1).iter_rows(named=True):
        expected = decide(row["fraud_score"], row["event_type"], scorer.thresholds)
        assert row["decision"] == expected.value
    # thresholds were chosen for a ~1 % review budget: most events are allowed
    assert (frame["decision"] == "allow").mean() > 0.9
    assert set(frame["decision"].unique()) <= {"allow", "review", "block"}


def test_csv_has_iso_times_and_reads_back(
    trained: Trained, scorer: OnnxScorer, tmp_path: Path
) -> None:
    scores = score_log(trained.log, scorer)
    path = scores.write_csv(tmp_path / "out" / "scores.csv")
    back = pl.read_csv(path)
    assert back.columns == list(SCORE_COLUMNS)
    assert back.height == len(trained.log)
    first = back.row(0, named=True)
    assert first["ts"].endswith("Z") and "T" in first["ts"]
    assert back["fraud_score"].to_numpy() == pytest.approx(
        scores.frame["fraud_score"].to_numpy(), abs=1e-6
    )


def test_offline_decisions_use_a_channels_cut_offs_where_the_model_has_them() -> None:
    class Table:  # what decisions_for reads of a scorer
        thresholds = {  # noqa: RUF012
            "transaction": {"review": 0.5, "block": 0.9},
            "transaction/transfer": {"review": 0.2, "block": 0.9},
            "login": {"review": 0.5, "block": 0.9},
        }

    fraud = np.array([0.3, 0.3, 0.3])
    types = np.array(["transaction", "transaction", "login"], dtype=object)
    channels = np.array(["transfer", "pos", None], dtype=object)
    got = decisions_for(fraud, types, Table(), channels)  # type: ignore[arg-type]
    assert got.tolist() == ["review", "allow", "allow"]
    assert decisions_for(fraud, types, Table()).tolist() == ["allow"] * 3  # type: ignore[arg-type]
