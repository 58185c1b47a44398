"""The continual-learning experiment end to end, small: drift breaks the champion in
period 2, analysts label, the real retrain runs, and period 3 shows what it bought.

No broker is needed (offline replay scoring, the analyst team's own logic on the stream's
clock, ``models.retrain.retrain`` on the store layout); it is slow, hence the marker.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from models.baseline import BaselineParams
from models.data import load_event_log
from models.registry import Registry
from models.retrain.data import reviewed_false_positives
from pipeline.bench.continual import REPORT_JSON, REPORT_MD, ContinualConfig, run_continual
from pipeline.bench.continual_world import WorldConfig
from pipeline.store.columns import EVENT_SCHEMA

pytestmark = [pytest.mark.slow]

NEW = "app_scam"
CONFIG = ContinualConfig(
    world=WorldConfig(events=40_000, seed=7),
    baseline=BaselineParams(forest_trees=50, max_iter=100, threads=1),
)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("continual")
    return run_continual(CONFIG, out), out


def test_the_new_scenario_exists_only_from_period_2(run: tuple[dict, Path]) -> None:
    report, _ = run
    per = report["world"]["scenarios_per_period"]
    assert NEW not in per["period1"]
    assert per["period2"][NEW] > 30 and per["period3"][NEW] > 30
    for old in ("account_takeover", "card_testing", "stolen_card"):
        assert all(per[p][old] > 0 for p in per)


def test_the_shift_makes_the_champion_raise_false_positives_on_the_segment(
    run: tuple[dict, Path],
) -> None:
    report, _ = run
    p2 = report["period2"]["champion"]
    assert p2["segment_genuine_events"] > 500
    assert p2["fpr_segment"] > 5 * p2["fpr_elsewhere"]
    # and still in period 3, at the champion's own thresholds
    own = report["period3"]["at_own_thresholds"]["champion"]
    assert own["recall"] == pytest.approx(report["period3"]["equal_recall"]["recall"])


def test_analysts_produce_reviewed_false_positives_in_the_store_layout(
    run: tuple[dict, Path],
) -> None:
    report, out = run
    period2 = out / "period2"
    events = pl.read_parquet(period2 / "events" / "*" / "*.parquet", hive_partitioning=False)
    assert events.columns == list(EVENT_SCHEMA)  # no truth: what the store writes
    feedback = pl.read_parquet(period2 / "feedback" / "*" / "*.parquet", hive_partitioning=False)
    assert {"analyst", "chargeback"} <= set(feedback["source"])
    # the retrain's own reader finds the reviewed false positives the bench counted
    found = reviewed_false_positives(period2, load_event_log(period2))
    p2 = report["period2"]
    assert len(found) == p2["reviewed_false_positives"] > 100
    # an analyst's mistake (a fraud called genuine) is in there too, but rarely
    assert 0.9 * len(found) <= p2["reviewed_false_positives_truly_genuine"] <= len(found)
    assert report["period2"]["reviewed_false_positives_in_segment"] > len(found) / 2
    assert report["retrain"]["data"]["reviewed_false_positives"] > 0


def test_retrain_ran_the_gate_and_made_a_challenger_of_the_champion(
    run: tuple[dict, Path],
) -> None:
    report, out = run
    r = report["retrain"]
    assert r["gate_evaluated"] > 10 and r["gate_passed"]
    assert r["challenger"] is not None
    assert r["challenger_parent"] == report["champion"]
    registry = Registry(out / "registry")
    assert registry.manifest(r["challenger"]).parent_version == report["champion"]
    saved = json.loads((Path(r["out_dir"]) / "retrain.json").read_text())
    assert saved["challenger"] == r["challenger"] and saved["gate"]["passed"]
    # served with the champion's false-alarm share per channel: the trained model, new cuts
    assert r["trained"] is not None and r["trained"] != r["challenger"]
    served = registry.manifest(r["challenger"])
    assert served.params["thresholds_from"]["version"] == r["trained"]
    # every channel measured; at this size few reach the 20 false alarms that set a cut-off
    assert {"transaction/pos", "transaction/ecom", "transaction/transfer"} <= set(r["calibration"])
    for key, k in r["calibration"].items():
        if k["review"] is not None:
            assert served.thresholds[key].review == k["review"]
        else:
            assert key not in served.thresholds


def test_challenger_has_fewer_false_positives_and_catches_the_new_pattern(
    run: tuple[dict, Path],
) -> None:
    report, out = run
    eq = report["period3"]["equal_recall"]
    champion, challenger = eq["champion"], eq["challenger"]
    assert challenger["recall"] >= eq["recall"] - 1e-9  # the same operating point
    assert challenger["fpr"] < champion["fpr"]
    assert 1 - challenger["fpr"] / champion["fpr"] >= 0.30
    targets = {t["name"]: t for t in report["targets"]}
    assert targets["false-positive rate at equal recall down"]["met"]
    # the new pattern up where the report sets that target: at equal alert rate, at each
    # channel's false-positive rate and at the thresholds each model serves (at equal
    # overall recall a gain there is not asked for; at this size it is a fraud or two)
    for where in (
        "",
        ", at each channel's false-positive rate",
        ", at each model's own thresholds",
    ):
        assert targets[f"recall on the new pattern ({NEW}) up{where}"]["met"], where
    # one per old scenario at equal alert rate, at equal FPR, at each channel's FPR and at
    # each model's own thresholds; the new pattern at the last two as well
    assert len(targets) == 2 + 5 + 5 + 1 + 5 + 1 + 5
    per_channel = report["period3"]["equal_fpr_per_channel"]
    assert {"pos", "ecom", "transfer", "login"} <= set(per_channel["fpr"])
    for role in ("champion", "challenger"):
        assert per_channel[role]["fpr"] <= eq["champion"]["fpr"] + 1e-12
    page = (out / REPORT_MD).read_text()
    assert "Period 3 at equal recall" in page and NEW in page
    assert "Period 3 at each channel's false-positive rate" in page
    assert "Period 3 at each model's own thresholds" in page
    assert "challenger_as_trained" in report["period3"]["own_thresholds"]
    assert json.loads((out / REPORT_JSON).read_text())["targets"] == report["targets"]
