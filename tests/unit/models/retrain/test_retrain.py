"""``retrain`` end to end on simulated windows: the gate, the challenger, the rule."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from models.registry import Registry
from models.retrain import Outcome, PromotionRule, RetrainConfig, RetrainResult, decide, retrain
from tests.unit.data_quality.datasets import CORRUPTIONS, copy_of
from tests.unit.models.retrain.conftest import FAST, Champion, tree_digest

#: the batches are small (a handful of frauds per scenario in the regression set, a few
#: false alarms per channel in the recent window): the per-scenario checks and the
#: thresholds per channel work from any number here, not from the default minimum
CONFIG = RetrainConfig(
    baseline=FAST, rule=PromotionRule(min_scenario_frauds=1), calibration_min_false_alarms=1
)
#: a rule any challenger passes, and one none can (nothing is comparable)
LENIENT = PromotionRule(max_ap_drop=1.0, fpr_sets=(), max_scenario_recall_drop=1.0)


def _run(
    data: Path, registry: Registry, home: Path, config: RetrainConfig = CONFIG, **kw: object
) -> RetrainResult:
    return retrain(data, registry, home / "regression", home / "out", config=config, **kw)  # type: ignore[arg-type]


def test_corrupted_batch_is_refused_and_the_champion_is_untouched(
    new_batch: Path, champion: Champion, tmp_path: Path
) -> None:
    bad = copy_of(new_batch, tmp_path / "bad")
    expected: set[str] = set()
    for corrupt, checks in CORRUPTIONS.values():
        corrupt(bad)
        expected |= checks
    registry = champion.registry_copy(tmp_path / "registry")
    before = tree_digest(registry.root)

    result = _run(bad, registry, tmp_path)

    assert result.outcome is Outcome.REFUSED
    assert result.challenger is None
    assert registry.current() == champion.version
    assert tree_digest(registry.root) == before  # no version, no pointer move, same files
    assert not (tmp_path / "regression").exists()
    assert expected <= set(result.gate.failed_checks)
    assert "retrain refused" in result.headline
    report = (tmp_path / "out" / "report.md").read_text()
    html = (tmp_path / "out" / "report.html").read_text()
    for check in expected:
        assert check in report and check in html
    saved = json.loads((tmp_path / "out" / "retrain.json").read_text())
    assert saved["outcome"] == "refused"
    assert expected <= {f["check"] for f in saved["gate"]["failed"]}


def test_an_explicit_reference_wins_over_the_champions_training_data(
    new_batch: Path, champion: Champion, tmp_path: Path
) -> None:
    bad = copy_of(new_batch, tmp_path / "bad")
    for corrupt, _checks in CORRUPTIONS.values():
        corrupt(bad)  # the gate stops it: no challenger is trained
    registry = champion.registry_copy(tmp_path / "registry")
    default = _run(bad, registry, tmp_path / "default")
    assert default.reference_dir is not None and default.reference_dir != new_batch
    explicit = _run(bad, registry, tmp_path / "explicit", reference_dir=new_batch)
    assert explicit.outcome is Outcome.REFUSED
    assert explicit.reference_dir == new_batch
    saved = json.loads((tmp_path / "explicit" / "out" / "retrain.json").read_text())
    assert saved["reference_dir"] == str(new_batch)


@pytest.fixture(scope="module")
def clean_run(
    new_batch: Path, champion: Champion, tmp_path_factory: pytest.TempPathFactory
) -> tuple[RetrainResult, Registry, Path]:
    home = tmp_path_factory.mktemp("clean")
    registry = champion.registry_copy(home / "registry")
    return _run(new_batch, registry, home), registry, home


def test_clean_batch_registers_a_challenger_decided_by_the_rule(
    clean_run: tuple[RetrainResult, Registry, Path], champion: Champion
) -> None:
    result, registry, home = clean_run
    assert result.gate.passed
    assert result.reference_dir == champion.reference  # from the champion's manifest
    assert result.challenger is not None and result.challenger in registry.versions()
    assert registry.manifest(result.challenger).parent_version == champion.version
    assert set(result.comparisons) == {"recent", "regression"}
    assert result.decision == decide(result.comparisons, CONFIG.rule)
    names = {c.name for c in result.decision.checks}
    assert {"recent.average_precision", "recent.fpr_at_champion_recall"} <= names
    assert any(n.startswith("regression.scenario.") for n in names)
    expected_current = result.challenger if result.decision.promote else champion.version
    assert registry.current() == expected_current
    assert result.outcome is (Outcome.PROMOTED if result.decision.promote else Outcome.KEPT)
    for name in ("report.md", "report.html", "champion_vs_challenger.png", "retrain.json"):
        assert (home / "out" / name).is_file()
    assert "Recall per scenario" in (home / "out" / "report.md").read_text()


def test_the_challenger_serves_with_the_champions_false_alarm_share_per_channel(
    clean_run: tuple[RetrainResult, Registry, Path], champion: Champion
) -> None:
    result, registry, home = clean_run
    assert result.trained is not None and result.challenger is not None
    assert registry.versions() == [champion.version, result.trained, result.challenger]
    served = registry.manifest(result.challenger)
    assert served.params["thresholds_from"]["version"] == result.trained
    set_keys = {k for k, v in result.calibration.items() if v["review"] is not None}
    assert set_keys and all(k.startswith("transaction/") for k in set_keys)
    # each event type keeps the cut-offs the challenger was trained with (channel-fpr)
    trained = registry.manifest(result.trained).thresholds
    assert {t: served.thresholds[t] for t in ("transaction", "login")} == {
        t: trained[t] for t in ("transaction", "login")
    }
    for key in set_keys:
        assert served.thresholds[key].review == result.calibration[key]["review"]
    # the same weights: only the cut-offs differ from the model as trained
    assert served.sha256 == registry.manifest(result.trained).sha256
    saved = json.loads((home / "out" / "retrain.json").read_text())
    assert saved["trained"] == result.trained and saved["calibration"] == result.calibration
    report = (home / "out" / "report.md").read_text()
    assert "Thresholds per channel" in report and "| transaction/pos |" in report


def test_own_thresholds_leave_the_challenger_as_trained(
    new_batch: Path, champion: Champion, tmp_path: Path
) -> None:
    registry = champion.registry_copy(tmp_path / "registry")
    result = _run(new_batch, registry, tmp_path, replace(CONFIG, thresholds="own"), promote=False)
    assert result.trained is None and result.calibration == {}
    assert registry.versions() == [champion.version, result.challenger]
    assert set(registry.manifest(result.challenger).thresholds) == {"transaction", "login"}


def test_regression_set_is_frozen_once_and_never_trained_on(
    clean_run: tuple[RetrainResult, Registry, Path], new_batch: Path
) -> None:
    result, _, home = clean_run
    assert result.regression_created
    frozen = home / "regression"
    digest = tree_digest(frozen)
    # a second run reuses the frozen set (and nothing of it reaches training)
    registry = Registry(home / "registry")
    second = retrain(new_batch, registry, frozen, home / "out2", config=CONFIG, promote=False)
    assert not second.regression_created
    assert tree_digest(frozen) == digest
    assert second.data["regression_events"] == result.data["regression_events"] > 0
    assert (
        second.data["training_events"] + second.data["recent_events"] <= (second.data["new_events"])
    )


def test_promotion_moves_current_only_when_the_rule_passes(
    new_batch: Path, champion: Champion, tmp_path: Path
) -> None:
    registry = champion.registry_copy(tmp_path / "registry")
    passing = _run(new_batch, registry, tmp_path / "a", replace(CONFIG, rule=LENIENT))
    assert passing.decision is not None and passing.decision.promote
    assert passing.outcome is Outcome.PROMOTED
    assert registry.current() == passing.challenger != champion.version

    registry = champion.registry_copy(tmp_path / "registry2")
    # nothing comparable (too few frauds everywhere): the rule cannot pass
    failing = _run(new_batch, registry, tmp_path / "b", replace(CONFIG, min_set_frauds=10**9))
    assert failing.decision is not None and not failing.decision.promote
    assert failing.outcome is Outcome.KEPT
    assert failing.challenger in registry.versions()
    assert registry.current() == champion.version

    # the rule passes, but the caller asked for no promotion
    registry = champion.registry_copy(tmp_path / "registry3")
    held = _run(new_batch, registry, tmp_path / "c", replace(CONFIG, rule=LENIENT), promote=False)
    assert held.decision is not None and held.decision.promote
    assert held.outcome is Outcome.KEPT
    assert registry.current() == champion.version
