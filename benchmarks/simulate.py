"""Simulator throughput: events/s generated, to Parquet, and as Kafka messages (no broker).

    POLARS_MAX_THREADS=1 taskset -c 0 .venv/bin/python benchmarks/simulate.py \
        [--events 1000000] [--accounts 50000] [--merchants 5000] [--days 30] [--messages]

The one-core figure is the one to quote: pin the process and polars to one CPU as above.
"""

from __future__ import annotations

import argparse
import os

from rich.console import Console
from rich.table import Table

from pipeline.simulator.benchmark import run_benchmarks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--merchants", type=int, default=5_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--messages", action="store_true", help="also time Kafka messages")
    args = parser.parse_args()
    results = run_benchmarks(
        args.events, args.accounts, args.merchants, args.days, args.seed, args.messages
    )
    table = Table(
        title=f"fraudstream simulate: {args.events:,} events, {args.accounts:,} accounts, "
        f"{args.merchants:,} merchants, {args.days} days "
        f"(POLARS_MAX_THREADS={os.environ.get('POLARS_MAX_THREADS', 'all')}, "
        f"CPUs={len(os.sched_getaffinity(0))})"
    )
    table.add_column("stage")
    table.add_column("events", justify="right")
    table.add_column("seconds", justify="right")
    table.add_column("events/s", justify="right")
    for r in results:
        table.add_row(r.name, f"{r.events:,}", f"{r.seconds:.2f}", f"{r.events_per_s:,.0f}")
    Console().print(table)


if __name__ == "__main__":
    main()
