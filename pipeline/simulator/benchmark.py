"""Throughput of the simulator: events per second generated, and written to Parquet.

Called by ``benchmarks/simulate.py`` (and meant for ``fraudstream bench``). One process,
one thread of Python; set ``POLARS_MAX_THREADS=1`` (and pin the CPU) for a one-core figure.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from pipeline.simulator.config import SimulatorConfig
from pipeline.simulator.generator import Simulator, random_streams
from pipeline.simulator.messages import MessageStream
from pipeline.simulator.sinks import ParquetSink

BENCH_START = date(2024, 1, 1)


@dataclass(frozen=True)
class BenchResult:
    name: str
    events: int
    seconds: float

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds else float("inf")


def bench_generate(config: SimulatorConfig) -> BenchResult:
    """Population, generation and polars frames; nothing written."""
    started = time.perf_counter()
    simulator = Simulator(config)
    for _ in simulator:
        pass
    return BenchResult(
        "generate (frames in memory)", simulator.stats.events, time.perf_counter() - started
    )


def bench_parquet(config: SimulatorConfig, directory: Path | None = None) -> BenchResult:
    """What ``fraudstream simulate --to parquet`` does, end to end."""
    with tempfile.TemporaryDirectory(prefix="fraudstream-sim-bench-") as tmp:
        started = time.perf_counter()
        simulator = Simulator(config)
        sink = ParquetSink(directory or Path(tmp), overwrite=True)
        for out in simulator:
            sink.write(out)
        sink.close()
        seconds = time.perf_counter() - started
    return BenchResult("to parquet", simulator.stats.events, seconds)


def bench_messages(config: SimulatorConfig) -> BenchResult:
    """Generation plus building the validated, encoded Kafka messages (no broker)."""
    started = time.perf_counter()
    simulator = Simulator(config)
    stream = MessageStream(
        config.events, config.malformed_rate, random_streams(config.seed)["malformed"]
    )
    for out in simulator:
        for _ in stream.day(out):
            pass
    return BenchResult(
        "kafka messages (no broker)", simulator.stats.events, time.perf_counter() - started
    )


def run_benchmarks(
    events: int = 1_000_000,
    accounts: int = 50_000,
    merchants: int = 5_000,
    days: int = 30,
    seed: int = 7,
    messages: bool = False,
) -> list[BenchResult]:
    config = SimulatorConfig(
        events=events,
        accounts=accounts,
        merchants=merchants,
        days=days,
        seed=seed,
        start=BENCH_START,
    )
    results = [bench_generate(config), bench_parquet(config)]
    if messages:
        results.append(bench_messages(replace(config, events=min(events, 200_000))))
    return results
