"""Read a worker's ``/metrics`` page (Prometheus text format) into the figures a bench needs.

Parsing goes through ``prometheus_client.parser``; this module only picks samples out by name
and label, so it stays correct whatever order or extra series the page carries.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from schemas import Topic

STAGES = ("decode", "state_encode", "score", "decide")


@dataclass(frozen=True, slots=True)
class Sample:
    name: str
    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True, slots=True)
class Histogram:
    """Cumulative buckets ``(upper bound, count ≤ bound)`` as Prometheus exposes them."""

    buckets: tuple[tuple[float, float], ...] = ()
    count: float = 0.0
    total: float = 0.0

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    def per_bucket(self) -> list[tuple[float, float]]:
        """``(upper bound, observations in this bucket alone)``; +Inf keeps its bound."""
        out, previous = [], 0.0
        for bound, cumulative in self.buckets:
            out.append((bound, cumulative - previous))
            previous = cumulative
        return out

    def quantile(self, q: float) -> float | None:
        """Estimate like PromQL's ``histogram_quantile``: linear within the bucket."""
        if not self.count or not self.buckets:
            return None
        rank = q * self.count
        lower, below = 0.0, 0.0
        for bound, cumulative in self.buckets:
            if cumulative >= rank:
                if math.isinf(bound):
                    return lower  # the highest finite bound, as PromQL answers
                inside = cumulative - below
                return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
            lower, below = bound, cumulative
        return lower


@dataclass(frozen=True, slots=True)
class WorkerSnapshot:
    """The worker's counters at one moment."""

    stage_seconds: dict[str, float] = field(default_factory=dict)
    batch_size: Histogram = field(default_factory=Histogram)
    score_latency: Histogram = field(default_factory=Histogram)
    events_in: dict[str, float] = field(default_factory=dict)
    events_out: dict[str, float] = field(default_factory=dict)
    dead_letters: float = 0.0
    redelivered: float = 0.0

    @property
    def scores_out(self) -> float:
        return self.events_out.get(Topic.SCORES.value, 0.0)

    @property
    def events_handled(self) -> float:
        """Events the scoring agent finished with: scored, dead-lettered or skipped."""
        scoring = (Topic.TRANSACTIONS.value, Topic.LOGINS.value)
        return sum(v for k, v in self.events_in.items() if k in scoring)


def parse_samples(text: str) -> list[Sample]:
    return [
        Sample(s.name, dict(s.labels), float(s.value))
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


def histogram(samples: list[Sample], name: str) -> Histogram:
    buckets = sorted(
        (float(s.labels["le"]), s.value) for s in samples if s.name == f"{name}_bucket"
    )
    count = next((s.value for s in samples if s.name == f"{name}_count"), 0.0)
    total = next((s.value for s in samples if s.name == f"{name}_sum"), 0.0)
    return Histogram(tuple(buckets), count, total)


def by_label(samples: list[Sample], name: str, label: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for s in samples:
        if s.name == name and label in s.labels:
            out[s.labels[label]] = out.get(s.labels[label], 0.0) + s.value
    return out


def parse_worker_metrics(text: str) -> WorkerSnapshot:
    samples = parse_samples(text)
    return WorkerSnapshot(
        stage_seconds=by_label(samples, "fraudstream_stage_seconds_total", "stage"),
        batch_size=histogram(samples, "fraudstream_batch_size"),
        score_latency=histogram(samples, "fraudstream_score_latency_seconds"),
        events_in=by_label(samples, "fraudstream_events_in_total", "topic"),
        events_out=by_label(samples, "fraudstream_events_out_total", "topic"),
        dead_letters=sum(s.value for s in samples if s.name == "fraudstream_dead_letters_total"),
        redelivered=sum(s.value for s in samples if s.name == "fraudstream_redelivered_total"),
    )
