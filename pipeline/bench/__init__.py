"""Benchmarks that run the real pipeline: ``fraudstream bench …``."""

from pipeline.bench.e2e import E2EConfig, Mode, run_e2e, save_report
from pipeline.bench.exceptions import BenchError, IncompleteRunError, WorkerStartError
from pipeline.bench.prom import Histogram, WorkerSnapshot, parse_worker_metrics
from pipeline.bench.report import E2EReport, ScoreSeen, Target, build_report
from pipeline.bench.stats import Distribution, percentile, rate

__all__ = [
    "BenchError",
    "Distribution",
    "E2EConfig",
    "E2EReport",
    "Histogram",
    "IncompleteRunError",
    "Mode",
    "ScoreSeen",
    "Target",
    "WorkerSnapshot",
    "WorkerStartError",
    "build_report",
    "parse_worker_metrics",
    "percentile",
    "rate",
    "run_e2e",
    "save_report",
]
