"""Reading a worker's /metrics page: the real exposition of WorkerMetrics, parsed back."""

from __future__ import annotations

import math

import pytest
from prometheus_client import generate_latest

from pipeline.bench.prom import Histogram, parse_worker_metrics
from pipeline.worker.metrics import WorkerMetrics
from schemas import Topic


def exposition() -> str:
    m = WorkerMetrics()
    for stage, seconds in (("decode", 0.02), ("state_encode", 0.1), ("score", 0.03)):
        m.stage_seconds.labels(stage).inc(seconds)
    m.stage_seconds.labels("decide").inc(0.05)
    for size in (1, 3, 100, 200, 200):
        m.batch_size.observe(size)
    m.events_in.labels(Topic.TRANSACTIONS.value).inc(400)
    m.events_in.labels(Topic.LOGINS.value).inc(104)
    m.events_in.labels(Topic.FEEDBACK.value).inc(9)  # not scored: left out of events_handled
    m.events_out.labels(Topic.SCORES.value).inc(500)
    m.events_out.labels(Topic.ALERTS.value).inc(6)
    m.dead_letters.labels(Topic.TRANSACTIONS.value, "not_json").inc(3)
    m.dead_letters.labels(Topic.LOGINS.value, "invalid").inc(1)
    m.redelivered.inc(2)
    m.score_latency.observe(0.004)
    return generate_latest(m.registry).decode()


def test_worker_metrics_round_trip() -> None:
    snap = parse_worker_metrics(exposition())
    assert snap.stage_seconds == pytest.approx(
        {"decode": 0.02, "state_encode": 0.1, "score": 0.03, "decide": 0.05}
    )
    assert snap.scores_out == 500
    assert snap.events_out[Topic.ALERTS.value] == 6
    assert snap.events_handled == 504
    assert (snap.dead_letters, snap.redelivered) == (4, 2)
    h = snap.batch_size
    assert (h.count, h.total, h.mean) == (5, 504, pytest.approx(100.8))
    per = dict(h.per_bucket())
    assert (per[1.0], per[4.0], per[128.0], per[256.0], per[math.inf]) == (1, 1, 1, 2, 0)
    assert sum(per.values()) == 5
    assert snap.score_latency.count == 1


def test_empty_page_gives_empty_snapshot() -> None:
    snap = parse_worker_metrics("")
    assert snap.scores_out == 0 and snap.stage_seconds == {}
    assert snap.batch_size.mean is None and snap.batch_size.quantile(0.5) is None


def test_histogram_quantile_interpolates_within_the_bucket() -> None:
    # 10 observations: 4 in (0, 10], 4 in (10, 20], 2 in (20, +Inf]
    h = Histogram(buckets=((10.0, 4.0), (20.0, 8.0), (math.inf, 10.0)), count=10, total=150)
    assert h.quantile(0.2) == pytest.approx(5.0)
    assert h.quantile(0.6) == pytest.approx(15.0)
    assert h.quantile(0.99) == 20.0  # in +Inf: the highest finite bound, like PromQL
