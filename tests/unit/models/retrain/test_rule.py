"""The promotion rule on hand-made metrics."""

from __future__ import annotations

import pytest

from models.retrain import Comparison, ModelMetrics, PromotionRule, RetrainError, decide


def metrics(
    ap: float, fpr: float, scenarios: dict[str, tuple[int, int]] | None = None
) -> ModelMetrics:
    return ModelMetrics(
        events=1000,
        frauds=20,
        average_precision=ap,
        recall=0.8,
        fpr_at_champion_recall=fpr,
        scenarios=scenarios or {"ato": (50, 40), "card_testing": (50, 45)},
    )


def sets(old: ModelMetrics, new: ModelMetrics) -> dict[str, Comparison]:
    return {
        "recent": Comparison("recent", old, new),
        "regression": Comparison("regression", old, new),
    }


def test_better_on_everything_promotes() -> None:
    decision = decide(sets(metrics(0.6, 0.010), metrics(0.65, 0.008)), PromotionRule())
    assert decision.promote
    names = {c.name for c in decision.checks}
    assert {"recent.average_precision", "recent.fpr_at_champion_recall"} <= names
    assert "regression.fpr_at_champion_recall" not in names  # FPR is a recent-window check
    assert {"recent.scenario.ato", "regression.scenario.card_testing"} <= names


@pytest.mark.parametrize(
    ("new", "failed"),
    [
        (metrics(0.59, 0.008), "recent.average_precision"),  # AP worse
        (metrics(0.65, 0.010), "recent.fpr_at_champion_recall"),  # FPR not lower
        (
            metrics(0.65, 0.008, {"ato": (50, 38), "card_testing": (50, 45)}),  # -4 points
            "recent.scenario.ato",
        ),
    ],
)
def test_each_check_can_veto(new: ModelMetrics, failed: str) -> None:
    decision = decide(sets(metrics(0.6, 0.010), new), PromotionRule())
    assert not decision.promote
    assert failed in {c.name for c in decision.failed}
    assert failed in decision.reason


def test_scenario_drop_within_two_points_passes() -> None:
    old = metrics(0.6, 0.01, {"ato": (100, 80)})
    assert decide(sets(old, metrics(0.6, 0.009, {"ato": (100, 78)})), PromotionRule()).promote
    assert not decide(sets(old, metrics(0.6, 0.009, {"ato": (100, 77)})), PromotionRule()).promote


def test_small_and_untyped_fraud_groups_are_reported_not_tested() -> None:
    """Under ``min_scenario_frauds`` one fraud is more than the allowed drop; frauds whose
    type nobody named are no pattern (the set's average precision covers them)."""
    old = metrics(0.6, 0.01, {"ato": (49, 40), "(no scenario)": (60, 50), "ct": (50, 45)})
    new = metrics(0.6, 0.009, {"ato": (49, 30), "(no scenario)": (60, 30), "ct": (50, 45)})
    decision = decide(sets(old, new), PromotionRule())
    assert decision.promote
    assert {c.name for c in decision.checks if ".scenario." in c.name} == {
        "recent.scenario.ct",
        "regression.scenario.ct",
    }
    assert not decide(sets(old, new), PromotionRule(min_scenario_frauds=49)).promote


def test_zero_fpr_both_passes_and_rule_is_configurable() -> None:
    assert decide(sets(metrics(0.6, 0.0), metrics(0.6, 0.0)), PromotionRule()).promote
    lenient = PromotionRule(max_ap_drop=0.05, fpr_sets=())
    assert decide(sets(metrics(0.6, 0.01), metrics(0.56, 0.02)), lenient).promote


def test_nothing_to_compare_keeps_the_champion() -> None:
    decision = decide({}, PromotionRule())
    assert not decision.promote
    assert "no evaluation set" in decision.reason


def test_bad_rule_says_what_to_fix() -> None:
    with pytest.raises(RetrainError, match="max_ap_drop"):
        PromotionRule(max_ap_drop=-1)
    with pytest.raises(RetrainError, match="min_scenario_frauds must be >= 1"):
        PromotionRule(min_scenario_frauds=0)
    with pytest.raises(RetrainError, match="unknown sets \\['recnet'\\]"):
        PromotionRule(fpr_sets=("recnet",))
