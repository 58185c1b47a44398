"""The e2e report: joins Scores to produced events and computes every figure and target."""

from __future__ import annotations

import json

import pytest

from pipeline.bench.prom import Histogram, WorkerSnapshot
from pipeline.bench.report import CpuWindow, ScoreSeen, build_report, stage_us_per_event

T0 = 1_800_000_000.0


def snapshot(events: float = 1000.0) -> WorkerSnapshot:
    return WorkerSnapshot(
        stage_seconds={"decode": 0.01, "state_encode": 0.05, "score": 0.02, "decide": 0.02},
        batch_size=Histogram(buckets=((64.0, 10.0), (256.0, 12.0)), count=12, total=events),
        events_out={"fraud.scores.v1": events},
    )


def scores_for(ids: list[str], per_batch: int, start: float, step: float) -> list[ScoreSeen]:
    """Scores in batches of ``per_batch`` sharing scored_at and latency_ms, like the worker's."""
    out = []
    for i, event_id in enumerate(ids):
        batch = i // per_batch
        at = start + batch * step
        out.append(ScoreSeen(event_id, at, latency_ms=2.0 + batch, record_ts=at + 0.003))
    return out


def test_joins_scores_to_inputs_and_computes_latency_and_rate() -> None:
    ids = [f"e{i}" for i in range(1000)]
    inputs = {e: T0 + i * 0.001 for i, e in enumerate(ids)}  # produced at 1,000/s
    # each batch of 10 is scored 20 ms after its first event was produced
    scores = scores_for(ids, per_batch=10, start=T0 + 0.020, step=0.010)
    report = build_report({"mode": "live", "rate": 1000.0}, inputs, scores, snapshot())
    assert report.counts == {
        "valid_events": 1000, "scores_read": 1000, "scored": 1000, "missing": 0,
        "duplicate_scores": 0, "unknown_scores": 0,
    }  # fmt: skip
    assert report.complete
    # latency of the k-th event of a batch = 20 ms - k ms
    assert report.latency_ms is not None
    assert report.latency_ms.min == pytest.approx(11.0, abs=1e-3)
    assert report.latency_ms.max == pytest.approx(20.0, abs=1e-3)
    assert report.latency_ms.p50 == pytest.approx(15.5, abs=1e-3)
    assert report.delivered_latency_ms is not None
    assert report.delivered_latency_ms.p50 == pytest.approx(18.5, abs=1e-3)
    assert report.scoring_span_s == pytest.approx(0.99)
    assert report.events_per_s == pytest.approx(1000 / 0.99)
    assert report.produced_per_s == pytest.approx(1000 / 0.999)
    assert report.batch_valid is not None
    assert (report.batch_valid.count, report.batch_valid.p50) == (100, 10.0)
    assert report.in_worker_ms is not None and report.in_worker_ms.max == 101.0
    # latency - batch time: the first event of the first batch waited 20 - 2 ms
    assert report.wait_ms is not None
    assert report.wait_ms.max == pytest.approx(18.0, abs=1e-3)


def test_missing_duplicate_and_unknown_scores_are_counted() -> None:
    inputs = {"a": T0, "b": T0, "c": T0}
    scores = [
        ScoreSeen("a", T0 + 0.5, 1.0),
        ScoreSeen("a", T0 + 0.2, 1.0),  # a redelivery scored again: the first one counts
        ScoreSeen("b", T0 + 0.3, 1.0),
        ScoreSeen("zzz", T0 + 0.3, 1.0),  # not produced in this run
    ]
    report = build_report({"mode": "drain"}, inputs, scores, snapshot())
    assert report.counts["scored"] == 2
    assert report.counts["missing"] == 1 and not report.complete
    assert report.counts["duplicate_scores"] == 1
    assert report.counts["unknown_scores"] == 1
    assert report.latency_ms is not None
    assert report.latency_ms.max == pytest.approx(
        300.0, abs=1e-3
    )  # a's first Score, not its second
    assert report.delivered_latency_ms is None  # no record timestamps given


def test_stage_costs_per_event() -> None:
    us = stage_us_per_event(snapshot(events=1000))
    assert us["decode"] == pytest.approx(10.0)
    assert us["state_encode"] == pytest.approx(50.0)
    assert us["state_encode+score"] == pytest.approx(70.0)
    assert us["total"] == pytest.approx(100.0)
    assert stage_us_per_event(WorkerSnapshot()) == {}


def _targets(config: dict[str, object], inputs_rate: float, score_delay: float) -> dict:
    ids = [f"e{i}" for i in range(400)]
    inputs = {e: T0 + i / inputs_rate for i, e in enumerate(ids)}
    scores = [ScoreSeen(e, inputs[e] + score_delay, 1.0) for e in ids]
    report = build_report(config, inputs, scores, snapshot())
    return {t.name: t for t in report.targets}


def test_targets_apply_only_to_the_runs_that_measure_them() -> None:
    live = _targets({"mode": "live", "rate": 2000.0}, inputs_rate=2000.0, score_delay=0.030)
    assert live["p99 latency"].met is True
    assert live["p99 latency"].measured == pytest.approx(30.0, abs=1e-3)
    assert live["throughput"].met is None  # a paced run cannot show capacity
    assert live["state + encode + score"].met is True  # 70 µs

    slow = _targets({"mode": "live", "rate": 2000.0}, inputs_rate=2000.0, score_delay=0.080)
    assert slow["p99 latency"].met is False

    behind = _targets({"mode": "live", "rate": 2000.0}, inputs_rate=1500.0, score_delay=0.01)
    assert behind["p99 latency"].met is None  # the producer did not reach 2,000/s

    drain = _targets({"mode": "drain", "rate": None}, inputs_rate=8000.0, score_delay=0.0)
    assert drain["p99 latency"].met is None
    assert drain["throughput"].met is True  # 400 events scored over ~50 ms


def test_report_serialises_to_json() -> None:
    ids = ["a", "b", "c"]
    inputs = {e: T0 + i for i, e in enumerate(ids)}
    scores = scores_for(ids, per_batch=2, start=T0 + 1, step=1.0)
    cpu = CpuWindow(wall_s=2.0, events=1000, cpu_s={"worker": 0.5, "broker": 0.25})
    report = build_report({"mode": "drain"}, inputs, scores, snapshot(), {"git": {}}, cpu)
    body = json.loads(json.dumps(report.to_dict()))
    assert body["counts"]["scored"] == 3
    assert body["cpu"]["cpu_us_per_event"] == {"worker": 500.0, "broker": 250.0}
    assert body["cpu"]["cores_busy"] == {"worker": 0.25, "broker": 0.125}
    assert body["cpu"]["host"] is None  # not measured in this window
    assert body["batch_size_histogram"]["per_bucket"] == {"<=64": 10.0, "<=256": 2.0}
    assert [t["name"] for t in body["targets"]] == [
        "throughput", "p99 latency", "state + encode + score",
    ]  # fmt: skip


def test_the_hosts_cpu_in_the_window_shows_what_else_ran() -> None:
    cpu = CpuWindow(
        wall_s=2.0, events=1000, cpu_s={"worker": 1.0, "broker": 0.5},
        host_s={"busy": 3.5, "idle": 0.4, "steal": 0.1},
    )  # fmt: skip
    assert cpu.to_dict()["host"] == {"busy_cores": 1.75, "outside_cores": 1.0, "steal_cores": 0.05}


def test_latency_after_the_warm_up_leaves_out_the_first_seconds_of_the_stream() -> None:
    ids = [f"e{i}" for i in range(5000)]
    inputs = {e: T0 + i * 0.001 for i, e in enumerate(ids)}  # 5 s at 1,000/s
    # the first second waits 400 ms (the worker's start), the rest 10 ms
    scores = [
        ScoreSeen(e, inputs[e] + (0.4 if i < 1000 else 0.01), latency_ms=1.0)
        for i, e in enumerate(ids)
    ]
    report = build_report({"mode": "live", "rate": 1000.0}, inputs, scores, snapshot())
    assert report.latency_ms is not None and report.latency_warm_ms is not None
    assert report.latency_ms.p99 == pytest.approx(400.0, abs=1e-3)
    assert report.latency_warm_ms.count == 2000  # produced 3 s or more after the first
    assert report.latency_warm_ms.max == pytest.approx(10.0, abs=1e-3)
    assert report.to_dict()["latency_warm_ms"]["p99"] == pytest.approx(10.0, abs=1e-3)
