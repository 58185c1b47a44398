"""The worker's batch engine in process: decode → state → encode → score → decide, per event.

    taskset -c 0 .venv/bin/python benchmarks/engine.py [--events 60000] [--batch 1 --batch 256]
        [--registry .state/registry] [--version V] [--no-merchant] [--profile [--top 30]]

Drives ``pipeline.worker.engine.Engine.score_batch`` exactly as the worker does, minus Kafka
and Faust: the simulator's own message bytes (what ``simulate --to kafka`` sends), dict state
stores written back after every batch, and a real ``OnnxScorer`` from the registry. The
first ``--warm`` share of the stream only builds state (accounts with history); the rest is
measured. This isolates the in-process cost per event from the streaming runtime's.

``--no-merchant`` hides the merchant from the engine (no merchant-activity read/update, no
merchant-risk read) to price the merchant-state design; ``--profile`` runs the measured part
under cProfile and prints where the time goes.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import io
import os
import pstats
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

import pipeline.worker.engine as engine_module
from models.features import EventView, MerchantRisk
from models.registry import Registry
from models.serving import OnnxScorer
from pipeline.settings import Settings
from pipeline.simulator import MessageStream, Simulator, SimulatorConfig, random_streams
from pipeline.worker.engine import Engine, Incoming

STAGES = ("decode", "state_encode", "score", "decide")
console = Console(width=150)


def messages(events: int, partitions: int, seed: int, accounts: int | None) -> list[Incoming]:
    """The simulator's valid event messages, as the worker would consume them."""
    extra = {"accounts": accounts} if accounts else {}
    config = SimulatorConfig(events=events, seed=seed, not_after=datetime.now(UTC), **extra)
    stream = MessageStream(events, 0.0, random_streams(seed)["malformed"])
    out: list[Incoming] = []
    now = time.time()
    for day in Simulator(config):
        for m in stream.day(day):
            if m.kind == "event":
                partition = zlib.crc32(m.key) % partitions
                out.append(Incoming(m.topic, partition, len(out), m.value, now))
    return out


class _NoMerchant:
    """Stands in for EventView inside the engine: the same view without its merchant."""

    @staticmethod
    def from_record(record: Any) -> EventView:
        return dataclasses.replace(EventView.from_record(record), merchant_id=None)


@contextlib.contextmanager
def merchant_lookups(enabled: bool) -> Iterator[None]:
    if enabled:
        yield
        return
    original = engine_module.EventView
    engine_module.EventView = _NoMerchant  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        engine_module.EventView = original  # type: ignore[misc]


def run(
    engine: Engine,
    scorer: OnnxScorer,
    msgs: list[Incoming],
    batch: int,
    warm: int,
    profiler: cProfile.Profile | None = None,
) -> dict[str, float]:
    """Seconds per event: each stage, the write-back, the whole call, and its CPU time."""
    accounts: dict[str, bytes] = {}
    activity: dict[str, bytes] = {}
    risk: dict[str, MerchantRisk] = {}

    def one(chunk: list[Incoming]) -> Any:
        out = engine.score_batch(chunk, scorer, accounts, activity, risk)
        accounts.update(out.accounts)
        activity.update(out.activity)
        return out

    for i in range(0, warm, batch):
        one(msgs[i : min(i + batch, warm)])
    totals = dict.fromkeys(STAGES, 0.0)
    n = 0
    if profiler is not None:
        profiler.enable()
    started, cpu_started = time.perf_counter(), time.thread_time()
    for i in range(warm, len(msgs), batch):
        chunk = msgs[i : i + batch]
        out = one(chunk)
        for stage in STAGES:
            totals[stage] += out.seconds.get(stage, 0.0)
        n += len(chunk)
    wall = time.perf_counter() - started
    cpu = time.thread_time() - cpu_started
    if profiler is not None:
        profiler.disable()
    result = {stage: s / n for stage, s in totals.items()}
    result["writeback"] = wall / n - sum(result.values())
    result["wall"] = wall / n
    result["cpu"] = cpu / n  # unlike the stage clocks, not inflated by a busy machine
    result["events"] = n
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--accounts", type=int, default=None)
    parser.add_argument("--warm", type=float, default=0.3, help="share of the stream not timed")
    parser.add_argument("--batch", type=int, action="append", default=None)
    parser.add_argument("--registry", default=None)
    parser.add_argument("--version", default=None)
    parser.add_argument("--partitions", type=int, default=None)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-merchant", action="store_true", help="also run without merchants")
    parser.add_argument("--profile", action="store_true", help="cProfile the largest batch")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()

    settings = Settings()
    registry = Registry(args.registry or settings.registry_dir)
    scorer = OnnxScorer.load(registry, args.version)
    partitions = args.partitions or settings.partitions
    engine = Engine(window=settings.window, partitions=partitions, limits=settings.decode_limits())
    t0 = time.perf_counter()
    msgs = messages(args.events, partitions, args.seed, args.accounts)
    cpus, load = len(os.sched_getaffinity(0)), os.getloadavg()[0]
    made = time.perf_counter() - t0
    console.print(
        f"{len(msgs):,} event messages simulated in {made:.1f}s; model {scorer.version} "
        f"({scorer.manifest.kind}); CPUs {cpus}; load {load:.2f}"
    )
    warm = int(len(msgs) * args.warm)
    batches = args.batch or [1, 16, 64, 256]
    variants = [True, False] if args.no_merchant else [True]

    table = Table(title=f"Engine.score_batch, µs per event ({len(msgs) - warm:,} events timed "
                        f"after {warm:,} warm-up; dict state; K={settings.window}); stages and "
                        "total are wall clock, CPU is this thread's CPU time")  # fmt: skip
    for column in ("batch", "merchants", *STAGES, "write-back", "state+encode+score", "total",
                   "CPU", "events/s per CPU-s"):  # fmt: skip
        table.add_column(column, justify="right")
    for merchants in variants:
        for batch in batches:
            with merchant_lookups(merchants):
                r = run(engine, scorer, msgs, batch, warm)
            us = {k: v * 1e6 for k, v in r.items() if k != "events"}
            table.add_row(
                str(batch), "yes" if merchants else "no",
                *(f"{us[s]:.1f}" for s in STAGES),
                f"{us['writeback']:.1f}",
                f"{us['state_encode'] + us['score']:.1f}",
                f"{us['wall']:.1f}",
                f"{us['cpu']:.1f}",
                f"{1e6 / us['cpu']:,.0f}",
            )  # fmt: skip
    console.print(table)

    if args.profile:
        profiler = cProfile.Profile()
        batch = max(batches)
        run(engine, scorer, msgs, batch, warm, profiler)
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text).strip_dirs()
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
        console.print(f"[bold]cProfile, batch {batch}[/] (profiling inflates Python-heavy parts)")
        console.print(text.getvalue(), markup=False, highlight=False)


if __name__ == "__main__":
    main()
