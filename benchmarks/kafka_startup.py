"""Start-up time of the local Kafka broker: cold (format + start) and warm (restart).

    .venv/bin/python benchmarks/kafka_startup.py [--runs 3]

Each run formats a fresh data dir in a temporary folder, starts the broker and waits until a
metadata request lists it (cold), stops it, then starts it again on the same data dir (warm).
Jars come from <FRAUDSTREAM_HOME>/kafka/libs, fetched first if missing (not timed).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pipeline.kafka import LocalBroker
from pipeline.kafka.ports import free_port
from pipeline.settings import Settings


def one_run(settings: Settings, data_dir: Path) -> dict[str, float]:
    broker = LocalBroker(settings, port=free_port(), data_dir=data_dir)
    t0 = time.monotonic()
    broker.format_if_new()
    t1 = time.monotonic()
    broker.start()
    broker.wait_ready(timeout=180)
    t2 = time.monotonic()
    broker.stop(timeout=60)
    t3 = time.monotonic()
    broker.start()
    broker.wait_ready(timeout=180)
    t4 = time.monotonic()
    broker.stop(timeout=60)
    t5 = time.monotonic()
    return {
        "format": t1 - t0,
        "cold start→ready": t2 - t1,
        "cold total": t2 - t0,
        "stop": t3 - t2,
        "warm start→ready": t4 - t3,
        "warm stop": t5 - t4,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    settings = Settings()
    LocalBroker(settings).ensure_jars()
    results = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="fraudstream-kafka-bench-") as tmp:
            results.append(one_run(settings, Path(tmp) / "data"))
    table = Table(title=f"local Kafka broker start-up, seconds ({args.runs} runs)")
    for column in ("phase", "median", "min", "max"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    for phase in results[0]:
        values = [r[phase] for r in results]
        table.add_row(
            phase, f"{statistics.median(values):.2f}", f"{min(values):.2f}", f"{max(values):.2f}"
        )
    Console().print(table)


if __name__ == "__main__":
    main()
