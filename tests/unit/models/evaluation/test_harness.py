"""The evaluation harness on the synthetic log: registered model, fresh baselines, report."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from models.card import CARD_FILE, EVALUATION_END, EVALUATION_START, with_evaluation
from models.data import replay_log, time_split
from models.evaluation.harness import (
    FRESH_FOREST,
    FRESH_GBM,
    Evaluation,
    EvaluationParams,
    evaluate_models,
)
from models.evaluation.latency import LatencyParams
from models.evaluation.plots import PR_CURVES, ROC_CURVES, SCENARIO_RECALL, SCORE_DISTRIBUTIONS
from models.evaluation.report import (
    METRICS_JSON,
    REPORT_HTML,
    REPORT_MD,
    update_model_cards,
    write_report,
)
from models.registry import Registry
from tests.unit.models.conftest import FAST_PARAMS, Trained

QUICK = EvaluationParams(
    baseline=FAST_PARAMS,
    latency=LatencyParams(single_calls=30, batch=32, batch_calls=4, warmup=2),
)


@pytest.fixture(scope="module")
def evaluation(trained: Trained) -> Evaluation:
    return evaluate_models(trained.log, Registry(trained.registry_root), [trained.version], QUICK)


def test_models_and_baselines_on_the_same_test_rows(
    trained: Trained, evaluation: Evaluation
) -> None:
    assert [r.name for r in evaluation.results] == [trained.version, FRESH_GBM, FRESH_FOREST]
    assert [r.output for r in evaluation.results] == [
        "fraud_probability",
        "fraud_probability",
        "anomaly_score",
    ]
    split = time_split(trained.log)  # the trainer's fractions, recorded in the manifest
    assert evaluation.split == split
    replayed = replay_log(trained.log, window=32)
    test = split.masks(replayed.ts)[2]
    assert evaluation.test_events == int(test.sum())
    assert evaluation.test_frauds == int((replayed.labels[test] == 1).sum()) > 0
    for result in evaluation.results:
        assert len(result.scores) == evaluation.test_events
        assert result.metrics["events"] == evaluation.test_events


def test_registered_model_matches_its_recorded_test_metrics(
    trained: Trained, evaluation: Evaluation
) -> None:
    recorded = Registry(trained.registry_root).manifest(trained.version).metrics
    model = evaluation.results[0]
    for name in ("roc_auc", "average_precision", "recall_at_0.5pct", "recall_at_1pct"):
        assert model.metrics[name] == pytest.approx(recorded[f"test_{name}"], abs=1e-6)
    assert model.metrics["anomaly_roc_auc"] == pytest.approx(
        recorded["test_anomaly_roc_auc"], abs=1e-6
    )
    assert model.metrics["review_rate"] == pytest.approx(recorded["test_review_rate"])
    assert model.notes == ["trained on this log; the test period was held out"]


def test_every_metric_of_the_brief_is_there(evaluation: Evaluation) -> None:
    for result in evaluation.results:
        m = result.metrics
        for name in (
            "roc_auc",
            "average_precision",
            "recall_at_0.5pct",
            "recall_at_1pct",
            "recall_at_1pct_threshold",
            "daily_account_precision_at_100",
            "latency_batch1_p50_ms",
            "latency_batch1_p99_ms",
            "latency_batch32_p50_ms",
            "latency_batch32_p99_ms",
        ):
            assert np.isfinite(m[name]), (result.name, name)
        assert m["latency_batch1_p50_ms"] <= m["latency_batch1_p99_ms"]
        assert result.scenarios  # the synthetic log's scenario codes
        assert set(result.scenarios) <= {"account_takeover", "card_testing", "impossible_travel"}
        caught = sum(s.caught for s in result.scenarios.values())
        frauds = sum(s.frauds for s in result.scenarios.values())
        assert frauds == evaluation.test_frauds
        assert caught / frauds == pytest.approx(m["recall_at_1pct_threshold"])
        assert result.daily.days  # one entry per test day
    # the supervised models rank fraud far better than chance; the forest never saw a label
    gbm, forest = evaluation.results[1], evaluation.results[2]
    assert gbm.metrics["roc_auc"] > 0.9
    assert forest.metrics["roc_auc"] > 0.6
    assert "review_rate" in gbm.metrics and "review_rate" not in forest.metrics


def test_explicit_fractions_move_the_test_period(trained: Trained) -> None:
    params = replace(QUICK, fractions=(0.5, 0.2, 0.3))
    wider = evaluate_models(trained.log, Registry(trained.registry_root), [], params)
    assert [r.name for r in wider.results] == [FRESH_GBM, FRESH_FOREST]
    assert wider.split == time_split(trained.log, (0.5, 0.2, 0.3))


def test_report_files_plots_and_card(
    trained: Trained, evaluation: Evaluation, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    files = write_report(
        evaluation, out, command="fraudstream evaluate --data X", data_notes={"seed": "7"}
    )
    names = {p.name for p in files.plots}
    assert {PR_CURVES, ROC_CURVES, SCORE_DISTRIBUTIONS, SCENARIO_RECALL} <= names
    for plot in files.plots:
        assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = (out / REPORT_MD).read_text()
    assert "fraudstream evaluate --data X" in markdown and "seed: 7" in markdown
    assert f"![pr curves]({PR_CURVES})" in markdown
    assert FRESH_GBM in markdown and "daily account precision@100" in markdown
    assert "perfect ranking (ceiling)" in markdown
    html = (out / REPORT_HTML).read_text()
    assert f'<img src="{ROC_CURVES}"' in html and "<table>" in html
    metrics = json.loads((out / METRICS_JSON).read_text())
    assert [r["name"] for r in metrics["results"]] == [r.name for r in evaluation.results]

    registry = trained.registry_copy(tmp_path / "registry")
    for _ in range(2):  # a second evaluation replaces the section
        (card,) = update_model_cards(evaluation, registry, out / REPORT_MD)
    text = card.read_text()
    assert card == registry.path(trained.version) / CARD_FILE
    assert text.startswith("# fraudstream model")
    assert text.count(EVALUATION_START) == 1 and text.count("## Evaluation") == 1
    assert "| baseline GBM (fresh) |" in text


def test_card_section_is_appended_then_replaced() -> None:
    card = "# model\n\nbody\n"
    once = with_evaluation(card, "## Evaluation\nfirst")
    assert once.startswith(card.rstrip("\n")) and once.endswith(EVALUATION_END + "\n")
    twice = with_evaluation(once + "\n## Later\n", "## Evaluation\nsecond")
    assert "first" not in twice and "second" in twice and twice.endswith("## Later\n")
