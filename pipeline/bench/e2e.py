"""The streaming benchmark: one worker, its own broker, simulated events, Scores read back.

Two modes:

- ``drain``: the topics are loaded first, then the worker starts and works off the backlog.
  This measures the worker's capacity, independent of how fast one Python producer sends.
- ``live``: the worker runs first, then the simulator produces at ``rate`` events/s (as fast
  as it can without one). Produce → score latency is only meaningful here.

Everything started here (broker, worker, simulator) is stopped in a ``finally``; the run's
folder ``<home>/bench/<run id>/`` keeps the logs (and the broker data with ``keep``).
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pipeline.bench.exceptions import BenchError
from pipeline.bench.machine import (
    command_line,
    git_facts,
    host_cpu_seconds,
    load_average,
    machine_facts,
    process_cpu_seconds,
)
from pipeline.bench.model import ensure_model
from pipeline.bench.processes import WorkerProcess, child_env, start_cli, stop_process
from pipeline.bench.prom import WorkerSnapshot
from pipeline.bench.readback import EVENT_TOPICS, end_offsets, input_timestamps, read_scores
from pipeline.bench.report import CpuWindow, E2EReport, build_report
from pipeline.bench.warmup import WARMUP_RECORDS, WARMUP_TOPIC, warm_broker
from pipeline.kafka import BrokerError, LocalBroker, create_topics
from pipeline.kafka.ports import free_port
from pipeline.settings import Settings
from pipeline.simulator.config import KAFKA_LINGER_MS

log = logging.getLogger(__name__)

POLL_S = 0.5
SETTLE_S = 3.0  # every event taken in, no new Score for this long: the rest were rejected


class Mode(StrEnum):
    DRAIN = "drain"
    LIVE = "live"


@dataclass(frozen=True, slots=True)
class E2EConfig:
    events: int = 50_000
    rate: float | None = None
    linger_ms: int = KAFKA_LINGER_MS  # the producer's (the simulator's Kafka sink)
    mode: Mode = Mode.DRAIN
    guarantee: str = "at_least_once"
    batch_max: int | None = None  # None: the settings' value
    batch_within_ms: float | None = None
    store: str | None = None
    partitions: int | None = None
    accounts: int | None = None  # simulator population; None: its default
    seed: int = 7
    train_events: int = 100_000
    timeout_s: float = 900.0  # from the first event produced to the last Score
    stall_s: float = 60.0  # no progress for this long ends the run as incomplete
    keep: bool = False
    profile: bool = False  # run the worker under cProfile: <run dir>/worker.prof
    #: records through the fresh broker before a live run (None: WARMUP_RECORDS; 0: none)
    broker_warmup: int | None = None

    def warmup_records(self) -> int:
        if self.mode is Mode.DRAIN:
            return 0  # loading the backlog warms the broker up
        return WARMUP_RECORDS if self.broker_warmup is None else self.broker_warmup


def run_id(config: E2EConfig, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    return f"e2e-{stamp}-{config.mode.value}-{uuid.uuid4().hex[:6]}"


class _Run:
    """One run's processes and folders; :meth:`close` stops whatever was started."""

    def __init__(self, config: E2EConfig, settings: Settings, say: Callable[[str], None]):
        self.config = config
        self.settings = settings
        self.say = say
        self.home = settings.home.resolve()
        self.id = run_id(config)
        self.dir = self.home / "bench" / self.id
        self.partitions = config.partitions or settings.partitions
        self.broker: LocalBroker | None = None
        self.worker: WorkerProcess | None = None
        self.producer: subprocess.Popen[bytes] | None = None
        self.timings: dict[str, float] = {}

    # -- set-up ----------------------------------------------------------------------------
    def start_broker(self) -> str:
        for attempt in (1, 2):  # a free port can be taken by someone else before the JVM binds
            broker = self.broker = LocalBroker(
                self.settings, port=free_port(), data_dir=self.dir / "kafka"
            )
            try:
                self.timings["broker_up_s"] = broker.up(timeout=180)
                break
            except BrokerError as err:
                if attempt == 2:
                    raise
                self.say(f"[yellow]broker start failed ({err}); retrying on another port")
        result = create_topics(broker.bootstrap, partitions=self.partitions)
        self.say(f"broker {broker.bootstrap} up in {self.timings['broker_up_s']:.1f}s, "
                 f"{len(result.created)} topics × {self.partitions} partitions")  # fmt: skip
        return broker.bootstrap

    def warm_broker(self, bootstrap: str, records: int) -> None:
        create_topics(bootstrap, partitions=self.partitions, topics=[WARMUP_TOPIC])
        warmup = warm_broker(bootstrap, records)
        self.timings["broker_warmup_s"] = warmup.seconds
        self.say(f"broker warmed up: {warmup.records:,} records through {WARMUP_TOPIC} "
                 f"and back in {warmup.seconds:.1f}s")  # fmt: skip

    def worker_env(self, bootstrap: str, version: str) -> dict[str, str]:
        """A home of the run's own (fresh tables), the registry linked in, the version pinned."""
        home = self.dir / "home"
        home.mkdir(parents=True, exist_ok=True)
        link = home / "registry"
        if not link.exists():
            link.symlink_to(self.settings.registry_dir.resolve(), target_is_directory=True)
        c, s = self.config, self.settings
        return child_env({
            "FRAUDSTREAM_HOME": str(home),
            "FRAUDSTREAM_KAFKA_BOOTSTRAP": bootstrap,
            "FRAUDSTREAM_WORKER_ID": f"fraudstream-bench-{self.id}",
            "FRAUDSTREAM_MODEL_VERSION": version,
            "FRAUDSTREAM_PARTITIONS": str(self.partitions),
            "FRAUDSTREAM_PROCESSING_GUARANTEE": c.guarantee,
            "FRAUDSTREAM_BATCH_MAX": str(c.batch_max or s.batch_max),
            "FRAUDSTREAM_BATCH_WITHIN_MS": str(c.batch_within_ms or s.batch_within_ms),
            "FRAUDSTREAM_STORE": c.store or s.store,
        })  # fmt: skip

    def start_worker(self, env: dict[str, str]) -> None:
        profile = self.dir / "worker.prof" if self.config.profile else None
        self.worker = WorkerProcess(env, free_port(), self.dir / "worker.log", profile)
        self.worker.start()
        self.timings["worker_ready_s"] = self.worker.wait_ready(timeout=180)
        self.say(f"worker ready in {self.timings['worker_ready_s']:.1f}s ({self.worker.url})")

    def cpu_mark(self) -> tuple[float, float, dict[str, float], dict[str, float] | None]:
        """(monotonic time, Scores so far, CPU seconds of worker and broker, the host's)."""
        assert self.worker is not None and self.broker is not None
        pids = {"worker": self.worker.pid, "broker": self.broker.status(probe=False).pid}
        cpu = {name: process_cpu_seconds(pid) for name, pid in pids.items()}
        scores = self.worker.snapshot().scores_out
        known = {k: v for k, v in cpu.items() if v is not None}
        return time.monotonic(), scores, known, host_cpu_seconds()

    def start_producer(self, bootstrap: str, rate: float | None) -> None:
        args = ["simulate", "--to", "kafka", "--events", str(self.config.events),
                "--seed", str(self.config.seed), "--bootstrap", bootstrap,
                "--linger-ms", str(self.config.linger_ms)]  # fmt: skip
        if rate is not None:
            args += ["--rate", f"{rate:g}"]
        if self.config.accounts is not None:
            args += ["--accounts", str(self.config.accounts)]
        self.producer = start_cli(args, child_env({}), self.dir / "simulate.log")

    def wait_producer(self, timeout: float) -> float:
        assert self.producer is not None
        started = time.monotonic()
        while (code := self.producer.poll()) is None:
            if self.worker is not None:
                self.worker.check_alive()
            if time.monotonic() - started > timeout:
                raise BenchError(f"the simulator ran past {timeout:.0f}s; see {self.dir}")
            time.sleep(POLL_S / 5)
        if code != 0:
            raise BenchError(f"the simulator exited {code}; see {self.dir / 'simulate.log'}")
        return time.monotonic() - started

    # -- measuring -------------------------------------------------------------------------
    def wait_scored(self, expected: int, deadline: float) -> WorkerSnapshot:
        """Poll /metrics until every event has a Score, or nothing moves any more."""
        assert self.worker is not None
        last_progress, last_seen = time.monotonic(), (-1.0, -1.0)
        while True:
            snap = self.worker.snapshot()
            seen = (snap.scores_out, snap.events_handled)
            now = time.monotonic()
            if seen != last_seen:
                last_progress, last_seen = now, seen
            if snap.scores_out >= expected:
                return snap
            idle = now - last_progress
            if snap.events_handled >= expected and idle >= SETTLE_S:
                return snap  # some events were rejected; the read-back counts them
            if idle >= self.config.stall_s or now > deadline:
                self.say(f"[yellow]stopped waiting: {snap.scores_out:,.0f} of {expected:,} "
                         f"scored, no progress for {idle:.0f}s; task stacks in "
                         f"{self.worker.log_file}")  # fmt: skip
                self.worker.dump_stacks()
                return snap
            time.sleep(POLL_S)

    def close(self) -> None:
        if self.producer is not None:
            stop_process(self.producer, "simulate", timeout=10.0)
        if self.worker is not None:
            clean = self.worker.stop(timeout=30.0)
            self.say(f"worker stopped ({'clean' if clean else 'killed'})")
        if self.broker is not None:
            self.broker.stop(timeout=30.0)
            self.say("broker stopped")
        if not self.config.keep:  # the data goes, the logs stay
            if self.broker is not None:
                shutil.rmtree(self.broker.layout.log_dirs, ignore_errors=True)
            shutil.rmtree(self.dir / "home" / "worker", ignore_errors=True)


def run_e2e(
    config: E2EConfig, settings: Settings, say: Callable[[str], None] = log.info
) -> E2EReport:
    """Run the benchmark end to end and return its report (everything started is stopped)."""
    if config.mode is Mode.DRAIN and config.rate is not None:
        raise BenchError("--rate paces a live run; a drain run loads the backlog at full speed")
    if config.mode is Mode.DRAIN and config.broker_warmup:
        raise BenchError("--broker-warmup is for a live run; loading a drain's backlog warms up")
    load_start = load_average()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    started = time.monotonic()
    run = _Run(config, settings, say)
    run.dir.mkdir(parents=True, exist_ok=True)
    say(f"run {run.id}: {config.mode.value}, {config.events:,} events, "
        f"{'max' if config.rate is None else f'{config.rate:g}/s'}, {config.guarantee}; "
        f"load {load_start}")  # fmt: skip
    try:
        version = ensure_model(
            settings.registry_dir, run.home / "bench",
            child_env({"FRAUDSTREAM_HOME": str(run.home)}),
            events=config.train_events, say=say,
        )  # fmt: skip
        bootstrap = run.start_broker()
        env = run.worker_env(bootstrap, version)
        if config.mode is Mode.DRAIN:
            say(f"pre-loading {config.events:,} events …")
            run.start_producer(bootstrap, None)
            run.timings["produce_s"] = run.wait_producer(config.timeout_s)
            expected = end_offsets(bootstrap, EVENT_TOPICS)
            run.start_worker(env)
            mark = run.cpu_mark()
        else:
            if records := config.warmup_records():
                run.warm_broker(bootstrap, records)
            run.start_worker(env)
            mark = run.cpu_mark()
            say(f"producing {config.events:,} events …")
            run.start_producer(bootstrap, config.rate)
            run.timings["produce_s"] = run.wait_producer(config.timeout_s)
            expected = end_offsets(bootstrap, EVENT_TOPICS)
        say(f"{expected:,} events on the input topics; waiting for their Scores …")
        snapshot = run.wait_scored(expected, time.monotonic() + config.timeout_s)
        end = run.cpu_mark()
        load_end = load_average()
        host_end, host_start = end[3], mark[3]
        cpu = CpuWindow(
            wall_s=end[0] - mark[0],
            events=snapshot.scores_out - mark[1],
            cpu_s={k: v - mark[2][k] for k, v in end[2].items() if k in mark[2]},
            host_s=(
                None
                if host_end is None or host_start is None
                else {k: host_end[k] - host_start[k] for k in host_end}
            ),
        )
        run.timings["measured_s"] = time.monotonic() - started
        say("reading the topics back …")
        invalid: Counter[str] = Counter()
        inputs = input_timestamps(
            bootstrap, settings.decode_limits(), lambda kind: invalid.update([kind])
        )
        scores = read_scores(bootstrap)
    finally:
        run.close()
    effective = {k: v for k, v in env.items() if k.startswith("FRAUDSTREAM_")}
    report_config = {
        **{k: v.value if isinstance(v, StrEnum) else v for k, v in asdict(config).items()},
        "partitions": run.partitions,
        "batch_max": int(effective["FRAUDSTREAM_BATCH_MAX"]),
        "batch_within_ms": float(effective["FRAUDSTREAM_BATCH_WITHIN_MS"]),
        "store": effective["FRAUDSTREAM_STORE"],
        "model_version": version,
        "run_id": run.id,
    }
    context: dict[str, Any] = {
        "command": command_line(),
        "started_at": started_at,
        "machine": machine_facts(),
        "git": git_facts(),
        "load_average": {"start": load_start, "end": load_end},
        "timings_s": {k: round(v, 3) for k, v in run.timings.items()},
        "input_messages": expected,
        "invalid_inputs": dict(invalid),
        "run_dir": str(run.dir),
    }
    if config.profile:
        context["profile"] = str(run.dir / "worker.prof")
    return build_report(report_config, inputs, scores, snapshot, context, cpu)


def save_report(report: E2EReport, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    return path
