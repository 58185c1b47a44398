"""Prometheus metrics of a worker (one registry per app, exposed on /metrics)."""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass
class WorkerMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.events_in = Counter(
            "fraudstream_events_in", "messages consumed", ["topic"], registry=r
        )
        self.events_out = Counter(
            "fraudstream_events_out", "messages produced", ["topic"], registry=r
        )
        self.dead_letters = Counter(
            "fraudstream_dead_letters", "messages dead-lettered", ["topic", "error_class"],
            registry=r,
        )  # fmt: skip
        self.decisions = Counter("fraudstream_decisions", "decisions", ["decision"], registry=r)
        self.redelivered = Counter(
            "fraudstream_redelivered", "events already scored, skipped", registry=r
        )
        self.already_scored = Counter(
            "fraudstream_already_scored",
            "redelivered events whose Score a previous run had sent (found by read-back)",
            registry=r,
        )
        self.readback_records = Counter(
            "fraudstream_readback_records", "output records read back on assignment", registry=r
        )
        self.alerts_resent = Counter(
            "fraudstream_alerts_resent", "alerts of read-back Scores that had none", registry=r
        )
        self.profile_cache = Counter(
            "fraudstream_profile_cache", "account profile reads by the cache's answer",
            ["result"], registry=r,
        )  # fmt: skip
        self.score_latency = Histogram(
            "fraudstream_score_latency_seconds", "batch decode→decision time",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.e2e_lag = Histogram(
            "fraudstream_end_to_end_lag_seconds", "produce → decision",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.batches = Counter(
            "fraudstream_batches", "scored micro-batches, by the way their events came "
            "(express: from the fetch loop; stream: through the agent's Faust stream)",
            ["path"], registry=r,
        )  # fmt: skip
        self.batch_size = Histogram(
            "fraudstream_batch_size", "events per micro-batch",
            buckets=(1, 4, 16, 64, 128, 256, 512, 1024), registry=r,
        )  # fmt: skip
        self.stage_seconds = Counter(
            "fraudstream_stage_seconds", "time spent per stage", ["stage"], registry=r
        )
        self.model_updates = Counter(
            "fraudstream_model_updates", "model updates by outcome", ["outcome"], registry=r
        )
        self.model_version = Info("fraudstream_model", "model being served", registry=r)
        self.ready = Gauge("fraudstream_ready", "1 when ready to score", registry=r)
