"""The promotion rule applied to champion and challenger metrics: a decision and its reasons."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from models.evaluation.scenarios import NO_SCENARIO
from models.retrain.config import PromotionRule


@dataclass(frozen=True, slots=True)
class ModelMetrics:
    """One model on one evaluation set."""

    events: int
    frauds: int
    average_precision: float
    #: recall at the model's own review thresholds
    recall: float
    #: false-positive rate at the threshold where the model reaches the champion's recall
    fpr_at_champion_recall: float
    #: scenario -> (frauds, caught at the model's review thresholds)
    scenarios: dict[str, tuple[int, int]] = field(default_factory=dict)

    def scenario_recall(self, name: str) -> float:
        frauds, caught = self.scenarios[name]
        return caught / frauds if frauds else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "frauds": self.frauds,
            "average_precision": self.average_precision,
            "recall": self.recall,
            "fpr_at_champion_recall": self.fpr_at_champion_recall,
            "scenarios": {k: list(v) for k, v in self.scenarios.items()},
        }


@dataclass(frozen=True, slots=True)
class Comparison:
    """Champion and challenger on one evaluation set."""

    name: str
    champion: ModelMetrics
    challenger: ModelMetrics


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Decision:
    promote: bool
    checks: tuple[Check, ...]

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.passed)

    @property
    def reason(self) -> str:
        if not self.checks:
            return "no evaluation set had enough frauds to compare the models"
        if self.promote:
            return f"all {len(self.checks)} checks of the promotion rule passed"
        return "; ".join(f"{c.name}: {c.detail}" for c in self.failed)


def _ap_check(comparison: Comparison, rule: PromotionRule) -> Check:
    old, new = comparison.champion.average_precision, comparison.challenger.average_precision
    passed = new >= old - rule.max_ap_drop
    return Check(
        f"{comparison.name}.average_precision",
        passed,
        f"challenger {new:.4f} vs champion {old:.4f} (allowed drop {rule.max_ap_drop:g})",
    )


def _fpr_check(comparison: Comparison) -> Check:
    old = comparison.champion.fpr_at_champion_recall
    new = comparison.challenger.fpr_at_champion_recall
    passed = new < old or new == old == 0.0
    return Check(
        f"{comparison.name}.fpr_at_champion_recall",
        passed,
        f"challenger {new:.5f} vs champion {old:.5f} at recall "
        f"{comparison.champion.recall:.3f} (must be lower)",
    )


def _scenario_checks(comparison: Comparison, rule: PromotionRule) -> list[Check]:
    checks = []
    old, new = comparison.champion, comparison.challenger
    for name in sorted(set(old.scenarios) & set(new.scenarios)):
        # frauds whose type nobody named are no pattern to guard; the set's AP covers them
        if name == NO_SCENARIO or old.scenarios[name][0] < rule.min_scenario_frauds:
            continue
        drop = old.scenario_recall(name) - new.scenario_recall(name)
        checks.append(
            Check(
                f"{comparison.name}.scenario.{name}",
                drop <= rule.max_scenario_recall_drop + 1e-12,
                f"recall {new.scenario_recall(name):.3f} vs {old.scenario_recall(name):.3f} "
                f"({old.scenarios[name][0]} frauds; allowed drop "
                f"{rule.max_scenario_recall_drop * 100:g} points)",
            )
        )
    return checks


def decide(comparisons: Mapping[str, Comparison], rule: PromotionRule) -> Decision:
    """Apply ``rule`` to every set; promote only when there was something to compare and
    every check passed."""
    checks: list[Check] = []
    for name, comparison in comparisons.items():
        checks.append(_ap_check(comparison, rule))
        if name in rule.fpr_sets:
            checks.append(_fpr_check(comparison))
        checks += _scenario_checks(comparison, rule)
    return Decision(promote=bool(checks) and all(c.passed for c in checks), checks=tuple(checks))
