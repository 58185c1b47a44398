"""Evaluate registered models, and fresh baselines beside them, on a log's test period.

One replay of the log feeds every model (the widest window any of them reads; a model with
a shorter window sees the last positions, exactly what a replay with its own window gives).
The test period is the last part of :func:`models.data.time_split` with the fractions the
models were trained with, so a model evaluated on its own training log is scored on events
it never saw.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta

import numpy as np

from models.baseline import BaselineParams
from models.data import EventLog, ReplayedLog, TimeSplit, replay_log, time_split
from models.data.split import DEFAULT_FRACTIONS
from models.evaluation.accounts import (
    DEFAULT_TOP_ACCOUNTS,
    DailyAccountPrecision,
    daily_account_precision,
)
from models.evaluation.baselines import FRESH_VERSION, fraud_labels, fresh_baseline
from models.evaluation.latency import Latency, LatencyParams, measure_latencies
from models.evaluation.metrics import ranking_metrics, rate_name
from models.evaluation.offline import DEFAULT_BATCH, Progress, score_rows
from models.evaluation.scenarios import ScenarioRecall, scenario_recall
from models.evaluation.thresholds import alert_rates, threshold_for_alert_rate
from models.manifest import Manifest, Thresholds
from models.registry import Registry
from models.serving import OnnxScorer

log = logging.getLogger(__name__)

Fractions = tuple[float, float, float]

#: display names of the fresh baselines
FRESH_GBM = "baseline GBM (fresh)"
FRESH_FOREST = "IsolationForest (fresh)"
#: windows timed for latency (taken from the test period)
LATENCY_WINDOWS = 4096


@dataclass(frozen=True, slots=True)
class EvaluationParams:
    #: train / val / test fractions; None: those the (first) model was trained with
    fractions: Fractions | None = None
    label_delay_days: float = 7.0  # label arrival = event time + this, when not given
    scenario_alert_rate: float = 0.01  # per-scenario recall at this alert budget's threshold
    top_accounts: int = DEFAULT_TOP_ACCOUNTS  # accounts an analyst team reviews per day
    batch_size: int = DEFAULT_BATCH  # events per ONNX call when scoring
    latency: LatencyParams = field(default_factory=LatencyParams)
    baseline: BaselineParams = field(default_factory=BaselineParams)  # the fresh baselines

    @property
    def label_delay(self) -> timedelta:
        return timedelta(days=self.label_delay_days)


@dataclass(frozen=True)
class ModelResult:
    """One scored output of one model on the test period."""

    name: str
    version: str  # registry version, or FRESH_VERSION
    kind: str  # manifest kind (baseline, transformer) or isolation_forest
    output: str  # fraud_probability | anomaly_score
    scores: np.ndarray  # per test event
    metrics: dict[str, float]
    scenarios: dict[str, ScenarioRecall]
    daily: DailyAccountPrecision
    latency: Latency | None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Evaluation:
    source: str
    split: TimeSplit
    fractions: Fractions
    label_delay_days: float
    events: int
    frauds: int
    test_events: int
    test_frauds: int
    y: np.ndarray  # 0/1 per test event
    results: list[ModelResult]
    params: EvaluationParams
    #: daily account precision of a perfect ranking: fraudulent accounts per day cap it
    account_ceiling: DailyAccountPrecision

    @property
    def registered(self) -> list[ModelResult]:
        return [r for r in self.results if r.version != FRESH_VERSION]


def _fractions(params: EvaluationParams, manifests: Sequence[Manifest]) -> Fractions:
    if params.fractions is not None:
        return params.fractions
    found = [
        (m.version, tuple(m.params["fractions"])) for m in manifests if "fractions" in m.params
    ]
    if not found:
        return DEFAULT_FRACTIONS
    chosen = found[0][1]
    for version, other in found[1:]:
        if other != chosen:
            log.warning(
                "models trained with other split fractions version=%s fractions=%s used=%s",
                version,
                other,
                chosen,
            )
    return (float(chosen[0]), float(chosen[1]), float(chosen[2]))


def _leakage_notes(manifest: Manifest, event_log: EventLog, split: TimeSplit) -> list[str]:
    """What a reader must know about where the model's training data sat."""
    if manifest.training_data_hash == event_log.fingerprint():
        trained_split = manifest.params.get("split", {})
        if trained_split and trained_split.get("val_end") != split.val_end.isoformat():
            return ["trained on this log with another split: its test period may overlap"]
        return ["trained on this log; the test period was held out"]
    return ["trained on another log: check that it did not contain this test period"]


@dataclass(frozen=True)
class _Test:
    rows: np.ndarray  # replay row indices of the test period
    y: np.ndarray
    types: np.ndarray
    channels: np.ndarray  # a transaction's channel or None: a model's channel cut-offs
    scenarios: np.ndarray
    accounts: np.ndarray
    ts: np.ndarray


def _result(
    name: str,
    version: str,
    kind: str,
    output: str,
    scores: np.ndarray,
    test: _Test,
    params: EvaluationParams,
    thresholds: dict[str, Thresholds] | None = None,
) -> ModelResult:
    metrics = ranking_metrics(test.y, scores)
    cut = threshold_for_alert_rate(scores, params.scenario_alert_rate)
    alerted = scores >= cut
    frauds = test.y == 1
    if frauds.any():
        metrics[f"recall_at_{rate_name(params.scenario_alert_rate)}_threshold"] = float(
            alerted[frauds].mean()
        )
    daily = daily_account_precision(test.accounts, test.ts, test.y, scores, params.top_accounts)
    metrics[f"daily_account_precision_at_{params.top_accounts}"] = daily.mean
    metrics[f"account_recall_at_{params.top_accounts}"] = daily.account_recall
    if thresholds is not None:
        review, block = alert_rates(scores, test.types, thresholds, test.channels)
        metrics["review_rate"] = float(review.mean())
        metrics["block_rate"] = float(block.mean())
        if frauds.any():
            metrics["recall_at_review"] = float(review[frauds].mean())
            metrics["recall_at_block"] = float(block[frauds].mean())
    return ModelResult(
        name=name,
        version=version,
        kind=kind,
        output=output,
        scores=scores,
        metrics=metrics,
        scenarios=scenario_recall(test.y, scores, test.scenarios, cut),
        daily=daily,
        latency=None,
    )


def _with_latency(result: ModelResult, latency: Latency) -> ModelResult:
    return replace(result, latency=latency, metrics={**result.metrics, **latency.to_dict()})


def _quiet(stage: str, done: int, total: int) -> None:
    return None


def _renamed(report: Progress, stage: str) -> Progress:
    """``report`` with every stage shown as ``stage``."""

    def forward(_stage: str, done: int, total: int) -> None:
        report(stage, done, total)

    return forward


def evaluate_models(
    event_log: EventLog,
    registry: Registry,
    versions: Sequence[str],
    params: EvaluationParams | None = None,
    *,
    progress: Progress | None = None,
) -> Evaluation:
    """Every version in ``versions``, then the fresh baselines, on the log's test period."""
    params = params or EvaluationParams()
    report: Progress = progress or _quiet
    scorers = [OnnxScorer.load(registry, v, threads=1) for v in versions]
    fractions = _fractions(params, [s.manifest for s in scorers])
    split = time_split(event_log, fractions)
    window = max([params.baseline.window, *(s.window for s in scorers)])

    n = len(event_log)
    report("replay", 0, n)
    replayed: ReplayedLog = replay_log(
        event_log,
        window=window,
        label_delay=params.label_delay,
        progress=lambda done: report("replay", done, n),
    )
    report("replay", n, n)
    baseline_params = replace(params.baseline, window=window, fractions=fractions)
    y_all, usable = fraud_labels(replayed, baseline_params)
    train, val, test_mask = split.masks(replayed.ts)
    rows = np.flatnonzero(test_mask & usable)
    test = _Test(
        rows=rows,
        y=y_all[rows],
        types=replayed.event_types[rows],
        channels=replayed.channels[rows],
        scenarios=replayed.scenarios[rows],
        accounts=event_log.events.get_column("account_id").to_numpy()[rows],
        ts=replayed.ts[rows],
    )
    timing_windows = replayed.replay.windows(rows[:LATENCY_WINDOWS])

    results: list[ModelResult] = []
    for scorer in scorers:
        manifest = scorer.manifest
        fraud, anomaly = score_rows(
            scorer,
            replayed.replay,
            rows,
            batch_size=params.batch_size,
            progress=_renamed(report, f"score {scorer.version}"),
        )
        result = _result(
            scorer.version,
            scorer.version,
            manifest.kind,
            "fraud_probability",
            fraud,
            test,
            params,
            dict(manifest.thresholds),
        )
        anomaly_metrics = ranking_metrics(test.y, anomaly)
        for name in ("roc_auc", "average_precision"):
            if name in anomaly_metrics:
                result.metrics[f"anomaly_{name}"] = anomaly_metrics[name]
        results.append(replace(result, notes=_leakage_notes(manifest, event_log, split)))

    report("fit baselines", 0, 1)
    fresh = fresh_baseline(replayed, train, val, baseline_params)
    report("fit baselines", 1, 1)
    fraud, anomaly = score_rows(
        fresh,
        replayed.replay,
        rows,
        batch_size=params.batch_size,
        progress=lambda _s, d, t: report("score baselines", d, t),
    )
    gbm = _result(
        FRESH_GBM,
        fresh.version,
        "baseline",
        "fraud_probability",
        fraud,
        test,
        params,
        dict(fresh.manifest.thresholds),
    )
    forest = _result(
        FRESH_FOREST, fresh.version, "isolation_forest", "anomaly_score", anomaly, test, params
    )
    shared = ["fitted on this log's train period", "latency: GBM and forest in one ONNX graph"]
    results += [replace(gbm, notes=shared), replace(forest, notes=shared)]

    report("latency", 0, 1)
    timed = [*scorers, fresh]
    latencies = measure_latencies(timed, *timing_windows, params.latency)
    by_version = {s.version: lat for s, lat in zip(timed, latencies, strict=True)}
    results = [_with_latency(r, by_version[r.version]) for r in results]
    report("latency", 1, 1)

    evaluation = Evaluation(
        source=event_log.source,
        split=split,
        fractions=fractions,
        label_delay_days=params.label_delay_days,
        events=n,
        frauds=int(y_all.sum()),
        test_events=len(rows),
        test_frauds=int(test.y.sum()),
        y=test.y,
        results=results,
        params=params,
        account_ceiling=daily_account_precision(
            test.accounts, test.ts, test.y, test.y.astype(np.float64), params.top_accounts
        ),
    )
    for result in results:
        log.info(
            "evaluated model=%s output=%s auc=%.4f ap=%.4f",
            result.name,
            result.output,
            result.metrics.get("roc_auc", float("nan")),
            result.metrics.get("average_precision", float("nan")),
        )
    return evaluation
