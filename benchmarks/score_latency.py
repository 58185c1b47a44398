"""OnnxScorer latency per call and per event, on windows replayed from a real event log.

    taskset -c 0 .venv/bin/python benchmarks/score_latency.py --data DIR \
        [--registry .state/registry] [--version V] [--batch 1 --batch 256] [--calls 5000]

The scorer runs as a worker runs it: one intra-op thread, no spinning, the call including
the input flattening. Pin the process to one CPU (as above) for the figure to quote.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from models.data import load_event_log, replay_log
from models.registry import Registry
from models.serving import OnnxScorer
from pipeline.settings import Settings


def measure(
    scorer: OnnxScorer, windows: tuple[np.ndarray, ...], batch: int, calls: int
) -> list[float]:
    cat, num, mask = windows
    n = len(cat)
    starts = np.random.default_rng(0).integers(0, n - batch, size=calls)
    for s in starts[: min(200, calls)]:  # warm-up
        scorer.score(cat[s : s + batch], num[s : s + batch], mask[s : s + batch])
    seconds = []
    for s in starts:
        c, u, m = cat[s : s + batch], num[s : s + batch], mask[s : s + batch]
        t0 = time.perf_counter_ns()
        scorer.score(c, u, m)
        seconds.append((time.perf_counter_ns() - t0) / 1e9)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="event log to take windows from")
    parser.add_argument("--registry", type=Path, default=Settings().registry_dir)
    parser.add_argument("--version", default=None)
    parser.add_argument("--batch", type=int, action="append", default=None)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--events", type=int, default=20_000, help="events replayed for inputs")
    args = parser.parse_args()
    scorer = OnnxScorer.load(Registry(args.registry), args.version)
    log = load_event_log(args.data)
    log = type(log)(log.events.head(args.events), None, log.source)
    replayed = replay_log(log, window=scorer.window)
    windows = replayed.replay.windows(np.arange(len(replayed)))
    table = Table(
        title=f"OnnxScorer {scorer.version} ({scorer.manifest.kind}, inputs "
        f"{','.join(scorer.manifest.inputs)}, K={scorer.window}; CPUs="
        f"{len(os.sched_getaffinity(0))})"
    )
    for column in ("batch", "calls", "p50 µs/call", "p99 µs/call", "p50 µs/event", "p99 µs/event"):
        table.add_column(column, justify="right")
    for batch in args.batch or [1, 256]:
        seconds = np.array(measure(scorer, windows, batch, args.calls)) * 1e6
        p50, p99 = np.percentile(seconds, [50, 99])
        table.add_row(
            str(batch),
            f"{args.calls:,}",
            f"{p50:,.1f}",
            f"{p99:,.1f}",
            f"{p50 / batch:,.2f}",
            f"{p99 / batch:,.2f}",
        )
    Console().print(table)


if __name__ == "__main__":
    main()
