"""The transformer's serving speed (int8 ONNX) and training time, beside the baseline.

    # serving: latency per event at batch 1 and throughput per core, ONE thread, pinned
    taskset -c 0 .venv/bin/python benchmarks/transformer.py serve --data DIR \
        [--registry .state/registry] [--version V] [--calls 5000] [--batch 64 --batch 256]
    # the same on an untrained model of the default size (speed does not depend on weights)
    taskset -c 0 .venv/bin/python benchmarks/transformer.py serve --untrained [--data DIR]
    # a registered version beside its weights (hf/) re-exported by today's exporter, with
    # the fp32 parity of the re-export against torch on the same windows (before/after)
    taskset -c 0 .venv/bin/python benchmarks/transformer.py serve --data DIR --registry REG \
        --version V --reexport

    # training: wall time per stage on a log (optionally its first N events), metrics, and
    # the baseline trained on the same log and split for comparison
    .venv/bin/python benchmarks/transformer.py train --data DIR [--max-events N] \
        [--threads 2] [--epochs 8] [--pretrain-epochs 2] [--baseline]

The serving figures run the graph as a worker runs it (``OnnxScorer``: one intra-op
thread, no spinning, the call including the window fitting). Every table states the load
average before and after: on a shared machine other jobs slow the figures down.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from models.data import load_event_log, replay_log
from models.registry import Registry
from models.serving import OnnxScorer
from models.serving.onnx_scorer import fit_window
from pipeline.settings import Settings
from schemas.features import CATEGORICAL, CONTINUOUS, DEFAULT_WINDOW

console = Console()


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f} (1/5 min) on {os.cpu_count()} CPUs"


def windows_from(data: Path | None, window: int, events: int) -> tuple[np.ndarray, ...]:
    """Real windows replayed from ``data`` (its first ``events``), else random valid ones."""
    if data is not None:
        log = load_event_log(data)
        log = type(log)(log.events.head(events), None, log.source)
        replayed = replay_log(log, window=window)
        return replayed.replay.windows(np.arange(len(replayed)))
    rng = np.random.default_rng(0)
    cards = np.array(list(CATEGORICAL.values()))
    cat = (rng.random((events, window, len(cards))) * cards).astype(np.int64)
    num = rng.normal(size=(events, window, len(CONTINUOUS))).astype(np.float32)
    return cat, num, np.ones((events, window), dtype=np.int64)


def untrained_registry(root: Path, int8: bool) -> Registry:
    """A registry holding an untrained default-size transformer (fp32 or int8 graph)."""
    import torch

    from models.manifest import WINDOW_INPUTS, Manifest, Thresholds
    from models.registry import MODEL_FILE
    from models.transformer import FraudSeqConfig, FraudSeqModel
    from models.transformer.export import export_onnx, quantize_int8
    from schemas.features import FeatureSpec

    torch.manual_seed(0)
    model = FraudSeqModel(FraudSeqConfig()).eval()
    build = root / ("int8" if int8 else "fp32")
    build.mkdir(parents=True)
    export_onnx(model, build / "fp32.onnx", {})
    if int8:
        quantize_int8(build / "fp32.onnx", build / MODEL_FILE)
        (build / "fp32.onnx").unlink()
    else:
        (build / "fp32.onnx").rename(build / MODEL_FILE)
    cut = Thresholds(review=0.5, block=0.9)
    registry = Registry(root / f"registry-{build.name}")
    version = registry.register(
        build,
        Manifest.for_spec(
            FeatureSpec(),
            kind="transformer",
            inputs=list(WINDOW_INPUTS),
            thresholds={"transaction": cut, "login": cut},
        ),
    )
    registry.promote(version)
    return registry


def reexported(
    registry: Registry, version: str, root: Path, windows: tuple[np.ndarray, ...]
) -> tuple[OnnxScorer, tuple[float, float]]:
    """``version``'s saved weights exported again by the current exporter (int8 when the
    registered graph is int8) into a scratch registry, and the fp32 graph's max abs
    difference from torch on ``windows`` (fraud, anomaly)."""
    import torch

    from models.registry import MODEL_FILE
    from models.transformer import FraudSeqModel
    from models.transformer.build import HF_DIR
    from models.transformer.export import export_onnx, quantize_int8, session

    manifest = registry.manifest(version)
    model = FraudSeqModel.from_pretrained(registry.path(version) / HF_DIR).eval()
    build = root / "reexport"
    build.mkdir(parents=True)
    export_onnx(model, build / "fp32.onnx", {})
    cat, num, mask = (w[:5000] for w in windows)
    with torch.no_grad():
        fraud, anomaly = model.serve(*map(torch.from_numpy, (cat, num, mask)))
    got = session(build / "fp32.onnx").run(None, {"cat": cat, "num": num, "mask": mask})
    parity = (
        float(np.abs(got[0] - fraud.numpy()).max()),
        float(np.abs(got[1] - anomaly.numpy()).max()),
    )
    if manifest.params.get("served_precision") == "int8":
        quantize_int8(build / "fp32.onnx", build / MODEL_FILE)
        (build / "fp32.onnx").unlink()
    else:
        (build / "fp32.onnx").rename(build / MODEL_FILE)
    scratch = Registry(root / "registry-reexport")
    again = scratch.register(build, manifest.model_copy(update={"parent_version": version}))
    return OnnxScorer.load(scratch, again), parity


def latency(
    scorer: OnnxScorer, windows: tuple[np.ndarray, ...], calls: int
) -> tuple[np.ndarray, np.ndarray]:
    """(wall, CPU) microseconds per scorer call at batch 1, after a warm-up.

    The session runs on the calling thread, so its CPU time is the call's own work: on a
    shared machine the wall figure also holds the time other jobs took the core.
    """
    cat, num, mask = windows
    picks = np.random.default_rng(1).integers(0, len(cat), size=calls + 500)
    wall, cpu = [], []
    for i, j in enumerate(picks):
        c, u, m = cat[j : j + 1], num[j : j + 1], mask[j : j + 1]
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        scorer.score(c, u, m)
        if i >= 500:
            wall.append((time.perf_counter_ns() - t0) / 1e3)
            cpu.append((time.thread_time_ns() - c0) / 1e3)
    return np.array(wall), np.array(cpu)


def throughput(
    scorer: OnnxScorer, windows: tuple[np.ndarray, ...], batch: int, seconds: float = 3.0
) -> tuple[float, float, float]:
    """(median wall, best wall, CPU) events per second over repeated calls of ``batch``."""
    cat, num, mask = windows
    n = len(cat) - batch
    rng = np.random.default_rng(2)
    rates = []
    events, cpu = 0, 0.0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(rates) < 5:
        s = int(rng.integers(0, max(n, 1)))
        c, u, m = cat[s : s + batch], num[s : s + batch], mask[s : s + batch]
        t0, c0 = time.perf_counter(), time.thread_time()
        scorer.score(c, u, m)
        rates.append(len(c) / (time.perf_counter() - t0))
        cpu += time.thread_time() - c0
        events += len(c)
    return float(np.median(rates)), float(np.max(rates)), events / cpu


def serve(args: argparse.Namespace) -> None:
    scorers: dict[str, OnnxScorer] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.untrained:
            for int8 in (True, False):
                name = "untrained int8" if int8 else "untrained fp32"
                scorers[name] = OnnxScorer.load(untrained_registry(Path(tmp), int8))
        else:
            scorer = OnnxScorer.load(Registry(args.registry), args.version)
            scorers[f"{scorer.version} ({scorer.manifest.params.get('served_precision')})"] = scorer
        window = next(iter(scorers.values())).window
        windows = windows_from(args.data, window, args.events)
        windows = fit_window(*windows, window)
        if args.reexport:
            registered = next(iter(scorers.values()))
            again, parity = reexported(
                Registry(args.registry), registered.version, Path(tmp), windows
            )
            scorers[f"re-exported ({again.manifest.params.get('served_precision')})"] = again
            console.print(
                f"re-export fp32 parity against torch on {min(len(windows[0]), 5000):,} windows: "
                f"fraud {parity[0]:.2e}, anomaly {parity[1]:.2e}"
            )
        before = load()
        table = Table(
            title=f"transformer serving, K={window}, one thread, "
            f"CPUs allowed {len(os.sched_getaffinity(0))}"
        )
        for column in ("model", "measure", "wall p50", "wall p99", "wall best", "CPU p50",
                       "CPU p99"):  # fmt: skip
            table.add_column(column, justify="right")
        for name, scorer in scorers.items():
            wall, cpu = latency(scorer, windows, args.calls)
            w50, w99 = np.percentile(wall, [50, 99])
            c50, c99 = np.percentile(cpu, [50, 99])
            table.add_row(name, "batch 1: µs/event", f"{w50:,.0f}", f"{w99:,.0f}",
                          f"{wall.min():,.0f}", f"{c50:,.0f}", f"{c99:,.0f}")  # fmt: skip
            for batch in args.batch or [64, 256, 1024]:
                median, best, per_cpu = throughput(scorer, windows, batch)
                table.add_row(name, f"batch {batch}: events/s", f"{median:,.0f}", "",
                              f"{best:,.0f}", f"{per_cpu:,.0f}", "")  # fmt: skip
        console.print(table)
        console.print(f"before: {before}; after: {load()}")


def train(args: argparse.Namespace) -> None:
    from models.baseline import BaselineParams, train_baseline
    from models.transformer import TransformerParams, train_transformer
    from models.transformer.build import first_events

    log = load_event_log(args.data)
    if args.max_events is not None:
        log = first_events(log, args.max_events)
    options = {"threads": args.threads, "max_events": None}
    for name in ("epochs", "pretrain_epochs"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    with tempfile.TemporaryDirectory() as tmp:
        registry = Registry(Path(tmp) / "registry")
        console.print(f"{len(log):,} events; start: {load()}")
        started = time.perf_counter()
        version = train_transformer(log, registry, TransformerParams(**options))
        wall = time.perf_counter() - started
        console.print(f"end: {load()}")
        manifest = registry.manifest(version)
        results = {"transformer": manifest.metrics}
        seconds = dict(manifest.params["seconds"])
        if args.baseline:
            started = time.perf_counter()
            base = train_baseline(log, registry, BaselineParams(threads=args.threads))
            seconds["baseline (whole run)"] = round(time.perf_counter() - started, 1)
            results["baseline"] = registry.manifest(base).metrics
    table = Table(title=f"training on {len(log):,} events, {args.threads} threads")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for stage, value in seconds.items():
        table.add_row(stage, f"{value:,.1f}")
    table.add_row("transformer total (wall)", f"{wall:,.1f}")
    console.print(table)
    metrics = Table(title="test metrics (same time split)")
    metrics.add_column("metric")
    for name in results:
        metrics.add_column(name, justify="right")
    for name in (
        "test_events",
        "test_frauds",
        "test_roc_auc",
        "test_average_precision",
        "test_recall_at_0.5pct",
        "test_recall_at_1pct",
        "test_anomaly_roc_auc",
        "test_anomaly_average_precision",
        "val_average_precision_fp32",
        "val_average_precision_int8",
        "int8_ap_drop",
        "parity_fraud_max_abs_diff",
        "parity_anomaly_max_abs_diff",
    ):
        values = [r.get(name) for r in results.values()]
        if any(v is not None for v in values):
            metrics.add_row(name, *("" if v is None else f"{v:.4g}" for v in values))
    console.print(metrics)
    console.print(f"fine-tuning history: {manifest.params['finetune_history']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="int8 ONNX latency and throughput")
    s.add_argument("--data", type=Path, default=None, help="event log to take windows from")
    s.add_argument("--registry", type=Path, default=Settings().registry_dir)
    s.add_argument("--version", default=None)
    s.add_argument("--untrained", action="store_true", help="export an untrained model")
    s.add_argument(
        "--reexport", action="store_true", help="also serve the version re-exported from hf/"
    )
    s.add_argument("--calls", type=int, default=5000)
    s.add_argument("--events", type=int, default=20_000, help="windows prepared as inputs")
    s.add_argument("--batch", type=int, action="append", default=None)
    t = sub.add_parser("train", help="training time and metrics, beside the baseline")
    t.add_argument("--data", type=Path, required=True)
    t.add_argument("--max-events", type=int, default=None)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--epochs", type=int, default=None)
    t.add_argument("--pretrain-epochs", type=int, default=None)
    t.add_argument("--baseline", action="store_true", help="also train the baseline")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr
    )
    if args.command == "serve":
        if args.untrained:
            args.window = DEFAULT_WINDOW
        serve(args)
    else:
        train(args)


if __name__ == "__main__":
    main()
