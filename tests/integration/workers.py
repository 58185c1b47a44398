"""Real worker processes and topic readers for the streaming end-to-end tests.

A :class:`WorkerProcess` is ``python -m pipeline.cli worker`` in a subprocess, watched
through its own /health and /metrics. Topics of the design are shared by every test on the
session broker, so readers start at offsets recorded before a test produced anything, and
a fresh consumer group is placed at the end of the input topics before its worker starts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import OffsetSpec
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import (
    CoordinatorLoadInProgressError,
    CoordinatorNotAvailableError,
    NoError,
    NotCoordinatorError,
)
from prometheus_client.parser import text_string_to_metric_families

from pipeline.kafka.admin import admin_client
from tests.integration.conftest import REPO
from tests.integration.polling import poll_until

Offsets = dict[TopicPartition, int]
Metrics = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def run_cli(*args: str, env: Mapping[str, str], timeout: float = 300) -> str:
    """``fraudstream ARGS`` in a subprocess; fails the test with its stderr on an error."""
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *args],
        env=dict(env), cwd=REPO, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    assert done.returncode == 0, f"fraudstream {' '.join(args)} failed:\n{done.stderr[-3000:]}"
    return done.stdout


def start_cli(
    *args: str, env: Mapping[str, str], log: Path, module: str = "pipeline.cli"
) -> subprocess.Popen[bytes]:
    """``fraudstream ARGS`` (``python -m module ARGS``) in the background, output to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", module, *args],
            env=dict(env), cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except FileNotFoundError:
        return "(no log)"


class WorkerProcess:
    """``fraudstream worker`` in a subprocess, with its web port and log file."""

    def __init__(
        self, env: Mapping[str, str], web_port: int, log: Path, module: str = "pipeline.cli"
    ) -> None:
        self.env = dict(env)
        self.web_port = web_port
        self.log = log
        self.module = module  # a stand-in for `fraudstream` (fault injection)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.proc = start_cli(
            "worker", "--web-port", str(self.web_port), env=self.env, log=self.log,
            module=self.module,
        )  # fmt: skip
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _get(self, path: str) -> tuple[int, bytes] | None:
        url = f"http://127.0.0.1:{self.web_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()
        except OSError:
            return None

    def health(self) -> dict[str, Any] | None:
        got = self._get("/health")
        if got is None:
            return None
        try:
            return dict(json.loads(got[1]), status=got[0])
        except ValueError:  # not our worker (yet) on that port
            return None

    def wait_ready(self, timeout: float = 120.0) -> dict[str, Any]:
        """Poll /health until it answers 200 ready; fail at once if the process died."""

        def ready() -> dict[str, Any] | None:
            if not self.running:
                raise AssertionError(f"worker exited before it was ready:\n{tail(self.log)}")
            body = self.health()
            return body if body and body["status"] == 200 and body["ready"] else None

        try:
            return poll_until(ready, timeout=timeout, interval=0.25, message="worker ready")
        except AssertionError as err:
            raise AssertionError(f"{err}\n--- worker log ---\n{tail(self.log)}") from err

    def merchant_risk(self, merchant_id: str) -> dict[str, Any] | None:
        """This worker's copy of a merchant's label statistics (None: no answer)."""
        got = self._get(f"/merchant-risk/{merchant_id}")
        return None if got is None else dict(json.loads(got[1]), status=got[0])

    def metrics(self) -> Metrics:
        got = self._get("/metrics")
        assert got is not None and got[0] == 200, f"/metrics did not answer: {got}"
        return parse_metrics(got[1].decode())

    def kill(self) -> None:
        """SIGKILL: no flush, no commit, no goodbye to the group."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (Faust stops cleanly: commits, flushes), SIGKILL after ``timeout``."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
            return None


def parse_metrics(text: str) -> Metrics:
    """Prometheus text → {(sample name, sorted labels): value}."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def metric(metrics: Metrics, name: str, **labels: str) -> float:
    """One sample's value, 0.0 when the series does not exist (yet)."""
    return metrics.get((name, tuple(sorted(labels.items()))), 0.0)


# ---------------------------------------------------------------------------- topics
def partitions_of(bootstrap: str, topics: Iterable[str]) -> list[TopicPartition]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        tps = []
        for topic in topics:
            parts = poll_until(
                lambda t=topic: consumer.partitions_for_topic(t), message=f"partitions of {topic}"
            )
            tps += [TopicPartition(topic, p) for p in sorted(parts)]
        return tps
    finally:
        consumer.close()


def end_offsets(bootstrap: str, topics: Iterable[str]) -> Offsets:
    """The current end of every partition of ``topics``: where a test's own messages begin."""
    tps = partitions_of(bootstrap, topics)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        return dict(consumer.end_offsets(tps))
    finally:
        consumer.close()


def place_group_at_end(bootstrap: str, group_id: str, topics: Iterable[str]) -> None:
    """Commit the end offsets of ``topics`` for a new consumer group, so its worker reads
    only what is produced from now on (not the other tests' messages)."""
    tps = partitions_of(bootstrap, topics)

    def attempt() -> dict[Any, Any] | None:
        # a new broker creates __consumer_offsets on first use: coordinator errors are
        # retriable until it is ready
        try:
            with admin_client(bootstrap) as admin:
                return admin.reset_group_offsets(group_id, {tp: OffsetSpec.LATEST for tp in tps})
        except (CoordinatorNotAvailableError, NotCoordinatorError, CoordinatorLoadInProgressError):
            return None

    errors = poll_until(attempt, timeout=60, interval=0.5, message=f"coordinator of {group_id}")
    failed = {tp: r for tp, r in errors.items() if r["error"] is not NoError}
    assert not failed, f"could not place group {group_id} at the end: {failed}"


def committed_offsets(bootstrap: str, group_id: str) -> Offsets:
    with admin_client(bootstrap) as admin:
        offsets = admin.list_group_offsets({group_id: None}).get(group_id, {})
    return {tp: om.offset for tp, om in offsets.items()}


class TopicReader:
    """Reads partitions from given offsets onwards; keeps every record it has seen."""

    def __init__(
        self, bootstrap: str, start: Offsets, *, isolation_level: str = "read_uncommitted"
    ) -> None:
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            isolation_level=isolation_level,
            max_poll_records=10_000,
        )
        self.consumer.assign(list(start))
        for tp, offset in start.items():
            self.consumer.seek(tp, offset)
        self.records: list[ConsumerRecord] = []

    def poll(self, timeout_ms: int = 200) -> int:
        n = 0
        for batch in self.consumer.poll(timeout_ms=timeout_ms).values():
            self.records.extend(batch)
            n += len(batch)
        return n

    def until(
        self, done: Callable[[list[ConsumerRecord]], bool], timeout: float, message: str
    ) -> list[ConsumerRecord]:
        """Poll until ``done(records)``."""

        def check() -> bool:
            self.poll()
            return done(self.records)

        poll_until(check, timeout=timeout, interval=0, message=message)
        return self.records

    def until_keys(self, keys: set[str], timeout: float, message: str) -> list[ConsumerRecord]:
        """Poll until a record was read for every key of ``keys`` (e.g. one Score per id)."""
        return self.until(lambda rs: keys <= {r.key.decode() for r in rs}, timeout, message)

    def to_end(self, timeout: float = 60.0) -> list[ConsumerRecord]:
        """Poll until every partition reached the end offsets of this moment."""
        tps = list(self.consumer.assignment())
        end = self.consumer.end_offsets(tps)

        def check() -> bool:
            self.poll()
            return all(self.consumer.position(tp) >= end[tp] for tp in tps)

        poll_until(check, timeout=timeout, interval=0, message="read to the end offsets")
        return self.records

    def close(self) -> None:
        self.consumer.close()

    def __enter__(self) -> TopicReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_from(
    bootstrap: str,
    start: Offsets,
    *,
    isolation_level: str = "read_uncommitted",
    timeout: float = 60.0,
) -> list[ConsumerRecord]:
    """Everything from ``start`` to the current end offsets."""
    with TopicReader(bootstrap, start, isolation_level=isolation_level) as reader:
        return reader.to_end(timeout)


def worker_env(base: Mapping[str, str], **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAUDSTREAM_")}
    env.update(base)
    env.update(overrides)
    env["PYTHONUNBUFFERED"] = "1"
    return env
