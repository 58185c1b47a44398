"""``retrain``: data gate -> challenger from the champion -> compare -> promote or keep.

Bad data never trains: a failed gate returns a refused result and leaves the registry as it
was. A challenger is always registered (for inspection) once trained; by default it is
registered a second time with the champion's false-alarm share per channel as its
cut-offs (``models.retrain.calibrate``), and that version is the one compared and maybe
promoted. Only the promotion rule moves ``current``. Telling the workers (Kafka) is the
caller's job, so this package stays free of the pipeline.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from data_quality import GateResult, run_gate
from data_quality.report import plain
from models.data import EventLog, load_event_log
from models.evaluation.thresholds import DEFAULT_BLOCK_RATE, DEFAULT_REVIEW_RATE
from models.manifest import Manifest
from models.registry import Registry
from models.retrain.calibrate import champion_fpr_thresholds, register_calibrated
from models.retrain.compare import ScoredSet, compare, score_set, thresholds_of
from models.retrain.config import CHAMPION_FPR, OWN, RetrainConfig
from models.retrain.data import (
    RegressionSet,
    regression_set,
    retrain_data,
    without_regression,
)
from models.retrain.report import write_report
from models.retrain.rule import Comparison, Decision, decide
from models.retrain.warm import train_challenger
from models.serving import OnnxScorer

log = logging.getLogger(__name__)

GATE_DIR = "gate"
RESULT_JSON = "retrain.json"


class Outcome(StrEnum):
    REFUSED = "refused"  # the data gate failed: nothing trained
    PROMOTED = "promoted"  # the challenger passed the rule and is current
    KEPT = "kept"  # the challenger failed the rule (or promotion was off): champion stays


@dataclass
class RetrainResult:
    outcome: Outcome
    data_dir: Path
    out_dir: Path
    champion: str
    gate: GateResult
    reference_dir: Path | None
    started_at: datetime
    challenger: str | None = None
    #: the challenger as trained, when ``challenger`` is it with calibrated thresholds
    trained: str | None = None
    #: threshold key -> what the champion alerted on the recent window, the cut-offs set
    calibration: dict[str, Any] = field(default_factory=dict)
    decision: Decision | None = None
    comparisons: dict[str, Comparison] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    regression_dir: Path | None = None
    regression_created: bool = False
    promote_requested: bool = True

    @property
    def promoted(self) -> bool:
        return self.outcome is Outcome.PROMOTED

    @property
    def headline(self) -> str:
        if self.outcome is Outcome.REFUSED:
            return (
                f"retrain refused: the data gate failed {len(self.gate.failed)} expectation(s) "
                f"({', '.join(self.gate.failed_checks)}); {self.champion} stays current"
            )
        reason = self.decision.reason if self.decision else ""
        if self.outcome is Outcome.PROMOTED:
            return f"{self.challenger} promoted over {self.champion}: {reason}"
        if self.decision is not None and self.decision.promote:
            return f"{self.challenger} passed the rule but promotion was off; {self.champion} stays"
        return f"{self.challenger} kept for inspection, {self.champion} stays current: {reason}"

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "outcome": self.outcome.value,
            "headline": self.headline,
            "data_dir": str(self.data_dir),
            "reference_dir": str(self.reference_dir) if self.reference_dir else None,
            "champion": self.champion,
            "challenger": self.challenger,
            "trained": self.trained,
            "calibration": self.calibration,
            "started_at": self.started_at.isoformat(),
            "gate": {
                "passed": self.gate.passed,
                "evaluated": self.gate.evaluated,
                "failed": [
                    {"check": f.check, "description": f.description, "observed": f.observed_text()}
                    for f in self.gate.failed
                ],
                "summary": str(self.gate.summary_markdown),
            },
            "data": self.data,
            "seconds": self.seconds,
            "regression_dir": str(self.regression_dir) if self.regression_dir else None,
            "regression_created": self.regression_created,
            "comparisons": {
                name: {"champion": c.champion.to_dict(), "challenger": c.challenger.to_dict()}
                for name, c in self.comparisons.items()
            },
        }
        if self.decision is not None:
            body["decision"] = {
                "promote": self.decision.promote,
                "reason": self.decision.reason,
                "checks": [
                    {"name": c.name, "passed": c.passed, "detail": c.detail}
                    for c in self.decision.checks
                ],
            }
        return plain(body)


def _champion_source(registry: Registry, champion: str) -> tuple[Path | None, datetime | None]:
    """The champion's training data folder (when it still exists) and its last event time."""
    params = registry.manifest(champion).params
    source = params.get("source")
    folder = Path(source) if isinstance(source, str) and source else None
    if folder is not None and not (folder / "events").is_dir():
        folder = None
    end = params.get("split", {}).get("end") if isinstance(params.get("split"), dict) else None
    return folder, datetime.fromisoformat(end) if isinstance(end, str) else None


def _write_result(result: RetrainResult) -> None:
    (result.out_dir / RESULT_JSON).write_text(
        json.dumps(result.to_dict(), indent=2), encoding="utf-8"
    )
    write_report(result)


def retrain(
    data_dir: Path | str,
    registry: Registry,
    regression_dir: Path | str,
    out_dir: Path | str,
    *,
    reference_dir: Path | str | None = None,
    config: RetrainConfig | None = None,
    promote: bool = True,
) -> RetrainResult:
    """Gate ``data_dir``, train a challenger of the current model, compare, maybe promote.

    Writes ``retrain.json``, ``report.md``, ``report.html`` and a PNG into ``out_dir``.
    """
    config = config or RetrainConfig()
    data_dir, out = Path(data_dir), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    champion = registry.resolve()
    source, champion_end = _champion_source(registry, champion)
    # an explicit reference wins; else the champion's own training data
    reference = Path(reference_dir) if reference_dir is not None else source
    started = datetime.now(UTC)
    seconds: dict[str, float] = {}

    tick = time.perf_counter()
    gate = run_gate(data_dir, reference, out / GATE_DIR, config.gate)
    seconds["gate"] = time.perf_counter() - tick
    result = RetrainResult(
        outcome=Outcome.REFUSED,
        data_dir=data_dir,
        out_dir=out,
        champion=champion,
        gate=gate,
        reference_dir=reference,
        started_at=started,
        seconds=seconds,
        promote_requested=promote,
    )
    if not gate.passed:
        log.warning("retrain refused champion=%s failed=%s", champion, ",".join(gate.failed_checks))
        _write_result(result)
        return result

    tick = time.perf_counter()
    new = load_event_log(data_dir)
    regression = regression_set(
        new,
        Path(regression_dir),
        config.regression_share,
        config.regression_min_frauds,
        config.regression_max_fraud_share,
    )
    same = source is not None and source.resolve() == data_dir.resolve()
    older = load_event_log(source) if source is not None and not same else None
    data = retrain_data(data_dir, without_regression(new, regression), older, champion_end,
                        config)  # fmt: skip
    result.regression_dir, result.regression_created = regression.directory, regression.created
    result.data = {**data.info, "regression_events": regression.log.events.height}
    seconds["data"] = time.perf_counter() - tick

    tick = time.perf_counter()
    champion_manifest = registry.manifest(champion)
    result.challenger = train_challenger(data, registry, champion_manifest, config)
    seconds["train"] = time.perf_counter() - tick

    tick = time.perf_counter()
    scorers = {
        "champion": OnnxScorer.load(registry, champion),
        "challenger": OnnxScorer.load(registry, result.challenger),
    }
    sets = _score_sets(scorers, data.recent, (data.recent_start, data.recent_end), regression,
                       config)  # fmt: skip
    if config.thresholds != OWN:
        result.trained = result.challenger
        result.challenger = _calibrate(registry, result, champion_manifest, sets[0], scorers,
                                       config)  # fmt: skip
        scorers["challenger"] = OnnxScorer.load(registry, result.challenger)
    result.comparisons = _compare(sets, scorers, config)
    result.decision = decide(result.comparisons, config.rule)
    seconds["evaluate"] = time.perf_counter() - tick

    if result.decision.promote and promote:
        registry.promote(result.challenger)
        result.outcome = Outcome.PROMOTED
    else:
        result.outcome = Outcome.KEPT
    log.info(
        "retrain done outcome=%s champion=%s challenger=%s reason=%s",
        result.outcome.value,
        champion,
        result.challenger,
        result.decision.reason,
    )
    _write_result(result)
    return result


def _score_sets(
    scorers: dict[str, OnnxScorer],
    recent: EventLog,
    recent_window: tuple[float, float],
    regression: RegressionSet,
    config: RetrainConfig,
) -> list[ScoredSet]:
    """The recent window and the regression set, scored by both models."""
    delay = config.baseline.label_delay
    return [
        score_set("recent", recent, scorers, delay, *recent_window),
        score_set("regression", regression.log, scorers, delay),
    ]


def _calibrate(
    registry: Registry,
    result: RetrainResult,
    champion: Manifest,
    recent: ScoredSet,
    scorers: dict[str, OnnxScorer],
    config: RetrainConfig,
) -> str:
    """The challenger registered again with the champion's false-alarm share per channel."""
    assert result.challenger is not None
    params = champion.params
    budget = (
        float(params.get("review_rate", DEFAULT_REVIEW_RATE)),
        float(params.get("block_rate", DEFAULT_BLOCK_RATE)),
    )
    thresholds, keys = champion_fpr_thresholds(
        recent,
        thresholds_of(scorers["champion"]),
        thresholds_of(scorers["challenger"]),
        config.calibration_min_false_alarms,
        budget,
        event_types=config.thresholds == CHAMPION_FPR,
    )
    result.calibration = {key: k.to_dict() for key, k in keys.items()}
    version = register_calibrated(registry, result.challenger, thresholds, keys, config.thresholds)
    log.info(
        "challenger thresholds calibrated trained=%s calibrated=%s keys=%s",
        result.challenger,
        version,
        ",".join(k for k, v in keys.items() if v.thresholds is not None) or "none",
    )
    return version


def _compare(
    sets: list[ScoredSet], scorers: dict[str, OnnxScorer], config: RetrainConfig
) -> dict[str, Comparison]:
    comparisons = {}
    for scored in sets:
        if scored.frauds < config.min_set_frauds or scored.frauds == len(scored.y):
            log.warning("set not compared name=%s frauds=%d", scored.name, scored.frauds)
            continue
        comparisons[scored.name] = compare(scored, scorers)
    return comparisons  # empty: nothing to compare, the rule keeps the champion
