"""``fraudstream demo``: the whole local pipeline, live, then a summary.

Starts its own broker (a data dir of its own under ``<home>/demo``, a free port), creates
the topics, trains the event-sequence transformer on a simulated history when the
registry's current model is not one (a short run: ``--history`` events, few epochs; if
training fails the demo stops, it never falls back to another model), starts a worker
serving it, streams simulated events into Kafka and shows live throughput, latency,
decisions and the model version each Score carries. Everything it started is stopped on
the way out, also on Ctrl-C or an error.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import orjson
import typer
from kafka import KafkaConsumer, TopicPartition
from rich.console import Console
from rich.live import Live
from rich.table import Table

from models.manifest import Manifest
from models.registry import Registry
from pipeline.cli.context import settings_of
from pipeline.cli.demo_loop import FeedbackLoop, LoopOptions, loop_rows
from pipeline.kafka import LocalBroker, create_topics
from pipeline.kafka.ports import free_port
from pipeline.settings import Settings
from schemas import Topic
from schemas.features import FeatureSpec

console = Console()
OUTPUTS = (Topic.SCORES.value, Topic.DEADLETTER.value)


def demo(
    ctx: typer.Context,
    events: int = typer.Option(20_000, "--events", help="events to stream"),
    rate: float = typer.Option(2_000.0, "--rate", help="events per second"),
    malformed_rate: float = typer.Option(0.01, "--malformed-rate"),
    history: int = typer.Option(200_000, "--history", help="events to train on (first run)"),
    epochs: int = typer.Option(2, "--epochs", min=1, help="fine-tuning epochs (first run)"),
    pretrain_epochs: int = typer.Option(
        1, "--pretrain-epochs", min=0, help="self-supervised epochs (first run)"
    ),
    loop: bool = typer.Option(
        True, "--loop/--no-loop", help="run the analysts, the training store and the retrainer"
    ),
    retrain_labels: int = typer.Option(
        200, "--retrain-labels", min=1, help="retrain after this many new labels"
    ),
    loop_wait: float = typer.Option(
        900.0, "--loop-wait", min=0, help="seconds to wait after the stream for a retrain"
    ),
) -> None:
    """Broker → topics → model → worker → live stream → summary; stops all it started."""
    settings = settings_of(ctx)
    demo_dir = settings.home / "demo"
    shutil.rmtree(demo_dir / "kafka", ignore_errors=True)
    shutil.rmtree(demo_dir / "worker", ignore_errors=True)
    console.rule("[bold]fraudstream demo")
    t0 = time.monotonic()
    with ExitStack() as stack:
        broker = LocalBroker(settings, port=free_port(), data_dir=demo_dir / "kafka")
        console.print(f"broker ready at [bold]{broker.bootstrap}[/] in {broker.up(120):.1f}s")
        stack.callback(broker.stop, 30)
        create_topics(broker.bootstrap, partitions=settings.partitions)
        env = dict(
            os.environ,
            FRAUDSTREAM_HOME=str(settings.home),
            FRAUDSTREAM_KAFKA_BOOTSTRAP=broker.bootstrap,
            FRAUDSTREAM_WORKER_ID=f"fraudstream-demo-{int(time.time())}",
        )
        version = _ensure_model(settings, env, demo_dir, history, (epochs, pretrain_epochs))
        web_port = free_port()
        worker = _spawn(["worker", "--web-port", str(web_port)], env, demo_dir / "worker.log")
        stack.callback(_stop, worker)
        _wait_ready(web_port, worker)
        console.print(f"worker ready, health and metrics on http://127.0.0.1:{web_port}")
        feedback = None
        if loop:
            shutil.rmtree(demo_dir / "loop", ignore_errors=True)
            feedback = FeedbackLoop(demo_dir / "loop", Registry(settings.registry_dir))
            options = LoopOptions(labels=retrain_labels)

            def spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
                return _spawn(args, env, log)

            for proc in [*feedback.start_labels(spawn, options),
                         feedback.start_watcher(spawn, options)]:  # fmt: skip
                stack.callback(_stop, proc)
            console.print(
                f"analysts, training store and retrain watcher running (retrain every "
                f"{retrain_labels} labels; logs and reports in {feedback.folder})"
            )
        sim = _spawn(
            ["simulate", "--to", "kafka", "--events", str(events), "--rate", str(rate),
             "--malformed-rate", str(malformed_rate), "--seed", str(int(time.time()) % 10_000)],
            env, demo_dir / "simulate.log",
        )  # fmt: skip
        stack.callback(_stop, sim)
        served = _watch(broker.bootstrap, sim, events, feedback, loop_wait)
    promoted = {r.challenger for r in feedback.retrains() if r.outcome == "promoted"} if (
        feedback
    ) else set()  # fmt: skip
    if feedback is not None:
        _retrain_summary(feedback)
    allowed = {version, *promoted}
    if served and not set(served) <= allowed:
        others = ", ".join(sorted(set(served) - allowed))
        console.print(
            f"[red]some Scores came from {others}: neither the transformer {version} nor a "
            f"model the retrainer promoted[/]"
        )
        raise typer.Exit(1)
    console.print(f"everything stopped; demo took {time.monotonic() - t0:.0f}s")


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    out = log.open("wb")
    cmd = [sys.executable, "-m", "pipeline.cli", *args]
    return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def why_not_served(manifest: Manifest) -> str | None:
    """Why the demo cannot serve this model (None: it can): the demo shows the transformer,
    and a model of another feature set (trained by an older fraudstream) cannot be scored."""
    if manifest.kind != "transformer":
        return f"is a {manifest.kind}, not a transformer"
    if manifest.feature_set_hash != FeatureSpec(window=manifest.window).hash():
        return (
            f"was trained on another feature set ({manifest.feature_set_hash[:12]}…, this "
            f"code builds {FeatureSpec().hash()[:12]}…)"
        )
    return None


def _ensure_model(
    settings: Settings,
    env: dict[str, str],
    demo_dir: Path,
    history: int,
    epochs: tuple[int, int],
) -> str:
    """The registry's current transformer; trains and promotes one when the current model is
    missing or not a transformer. A failed training run stops the demo."""
    registry = Registry(settings.registry_dir)
    current = registry.current()
    if current is not None:
        unusable = why_not_served(registry.manifest(current))
        if unusable is None:
            console.print(f"model: [bold]{current}[/] (transformer, registry current)")
            return current
        console.print(f"the registry's current model {current} {unusable}")
    finetune, pretrain = epochs
    console.print(
        f"training the transformer on {history:,} simulated events of history "
        f"({pretrain} self-supervised + at most {finetune} fine-tuning epochs); first run only"
    )
    data = demo_dir / "history"
    base = [sys.executable, "-m", "pipeline.cli"]
    sim = ["simulate", "--to", "parquet", str(data), "--events", str(history), "--overwrite"]
    train = [
        "train", "--model", "transformer", "--data", str(data), "--epochs", str(finetune),
        "--pretrain-epochs", str(pretrain),
    ]  # fmt: skip
    started = time.monotonic()
    for step in (sim, train):
        done = subprocess.run([*base, *step], env=env, check=False)
        if done.returncode:
            console.print(
                f"[red]`fraudstream {' '.join(step[:3])}` failed (exit {done.returncode})[/]"
            )
            raise typer.Exit(1)
    version = registry.current()
    if version is None or registry.manifest(version).kind != "transformer":
        console.print(
            f"[red]training finished but the current model is {version}, not a transformer[/]"
        )
        raise typer.Exit(1)
    console.print(
        f"model: [bold]{version}[/] (transformer, trained in {time.monotonic() - started:.0f}s)"
    )
    return version


def _wait_ready(port: int, worker: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise typer.Exit(f"the worker exited with code {worker.returncode}; see its log")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise typer.Exit("the worker did not become ready in time; see its log")


def _retrain_summary(feedback: FeedbackLoop) -> None:
    retrains = feedback.retrains()
    if not retrains:
        console.print(
            f"no retrain finished in time; the watcher's log: {feedback.folder / 'retrain.log'}"
        )
    for r in retrains:
        style = {"promoted": "green", "kept": "yellow"}.get(r.outcome, "red")
        console.print(f"[{style}]retrain {r.outcome}[/] ({r.seconds:.0f}s): {r.headline}")
        console.print(f"  report: {r.report}")


def _watch(
    bootstrap: str,
    sim: subprocess.Popen[bytes],
    events: int,
    feedback: FeedbackLoop | None = None,
    loop_wait: float = 0.0,
) -> Counter[str]:
    """Live table until the stream is scored (and, with the feedback loop, until a retrain
    finished or ``loop_wait`` seconds passed after the stream); returns Scores per model
    version."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    tps = [TopicPartition(t, p) for t in OUTPUTS for p in consumer.partitions_for_topic(t) or ()]
    consumer.assign(tps)
    consumer.seek_to_end()
    decisions: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    versions: Counter[str] = Counter()
    latencies: list[float] = []
    dead = scored = 0
    recent: list[tuple[float, int]] = []
    idle_since = time.monotonic()
    streamed_at: float | None = None
    with Live(console=console, refresh_per_second=2) as live:
        while True:
            got = 0
            for batch in consumer.poll(timeout_ms=500, max_records=5000).values():
                for r in batch:
                    got += 1
                    if r.topic == Topic.DEADLETTER.value:
                        dead += 1
                        continue
                    s = orjson.loads(r.value)
                    scored += 1
                    decisions[s["decision"]] += 1
                    reasons.update(s["reasons"])
                    versions[s["model_version"]] += 1
                    latencies.append(s["latency_ms"])
            now = time.monotonic()
            recent = [(t, n) for t, n in recent if now - t < 5.0] + [(now, got)]
            rate = sum(n for _, n in recent) / max(now - recent[0][0], 1.0)
            table = _table(scored, dead, rate, decisions, reasons, versions, latencies)
            if feedback is not None:
                for measure, value in loop_rows(feedback):
                    table.add_row(measure, value)
            live.update(table)
            idle_since = now if got else idle_since
            done = sim.poll() is not None and scored >= events
            if done or (sim.poll() is not None and now - idle_since > 15):
                streamed_at = streamed_at or now
                if feedback is None or feedback.retrains() or now - streamed_at > loop_wait:
                    break
    consumer.close()
    if sim.returncode:
        console.print(f"[red]the simulator exited with code {sim.returncode}[/]")
    return versions


def _table(
    scored: int, dead: int, rate: float, decisions: Counter[str], reasons: Counter[str],
    versions: Counter[str], latencies: list[float],
) -> Table:  # fmt: skip
    table = Table(title="live: scores, dead letters, feedback loop", show_header=False)
    table.add_column(justify="right")
    table.add_column()
    table.add_row("scored", f"{scored:,}")
    table.add_row("throughput", f"{rate:,.0f} events/s (last 5 s)")
    if latencies:
        p50, p99 = np.percentile(latencies, [50, 99])
        table.add_row("in-worker batch latency", f"p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    table.add_row("decisions", ", ".join(f"{k}={v:,}" for k, v in sorted(decisions.items())))
    table.add_row("top reasons", ", ".join(f"{k}={v}" for k, v in reasons.most_common(4)))
    table.add_row("dead-lettered", f"{dead:,}")
    table.add_row("model", ", ".join(f"{k} ({v:,})" for k, v in versions.items()))
    return table
