"""Child processes of a bench: the worker under test and one-shot CLI commands.

Every child runs the real CLI (``python -m pipeline.cli …``) with its output in a log file,
in a session of its own so a Ctrl-C at the terminal reaches the bench, which then stops
the children in order (SIGTERM, SIGKILL after a timeout).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from pipeline.bench.exceptions import BenchError, WorkerStartError
from pipeline.bench.prom import WorkerSnapshot, parse_worker_metrics
from pipeline.kafka.ports import LOOPBACK

log = logging.getLogger(__name__)

POLL_S = 0.25
KILL_WAIT_S = 10.0


def cli_command(*args: str, profile: Path | None = None) -> list[str]:
    """``python -m pipeline.cli ARGS``; under a CPU-time cProfile written to ``profile``."""
    if profile is not None:
        return [sys.executable, "-m", "pipeline.bench.profiled", str(profile), *args]
    return [sys.executable, "-m", "pipeline.cli", *args]


def child_env(overrides: Mapping[str, str]) -> dict[str, str]:
    """This process's environment with ``overrides`` on top (FRAUDSTREAM_* and the like)."""
    return {**os.environ, **overrides}


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def stop_process(proc: subprocess.Popen[bytes], name: str, timeout: float) -> bool:
    """SIGTERM, then SIGKILL after ``timeout``; True when it exited on SIGTERM."""
    if proc.poll() is not None:
        return True
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
        log.info("stopped process=%s pid=%d clean=true", name, proc.pid)
        return True
    except subprocess.TimeoutExpired:
        log.warning("process ignored SIGTERM process=%s pid=%d; killing", name, proc.pid)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=KILL_WAIT_S)
    return False


def run_cli(
    args: Sequence[str], env: Mapping[str, str], log_file: Path, timeout: float | None = None
) -> float:
    """Run one CLI command to completion; returns its seconds, raises on a non-zero exit."""
    started = time.monotonic()
    proc = start_cli(args, env, log_file)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired as err:
        raise BenchError(
            f"`fraudstream {' '.join(args)}` ran past {timeout:.0f}s; see {log_file}"
        ) from err
    finally:
        stop_process(proc, args[0], timeout=10.0)
    if code != 0:
        raise BenchError(
            f"`fraudstream {' '.join(args)}` exited {code}; last lines of {log_file}:\n"
            f"{_tail(log_file)}"
        )
    return time.monotonic() - started


def start_cli(
    args: Sequence[str], env: Mapping[str, str], log_file: Path, profile: Path | None = None
) -> subprocess.Popen[bytes]:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        proc = subprocess.Popen(
            cli_command(*args, profile=profile),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    log.info("started process=%s pid=%d log=%s", args[0], proc.pid, log_file)
    return proc


class WorkerProcess:
    """``fraudstream worker`` in a child process, watched through its /health and /metrics."""

    def __init__(
        self,
        env: Mapping[str, str],
        web_port: int,
        log_file: Path,
        profile: Path | None = None,
    ) -> None:
        self.env = dict(env)
        self.web_port = web_port
        self.log_file = log_file
        self.profile = profile
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.web_port}"

    def start(self) -> None:
        args = ["worker", "--web-port", str(self.web_port)]
        self.proc = start_cli(args, self.env, self.log_file, self.profile)

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            raise WorkerStartError(
                f"the worker exited (code {code}); last lines of {self.log_file}:\n"
                f"{_tail(self.log_file)}"
            )

    def _get(self, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def health(self) -> dict[str, object] | None:
        try:
            _, body = self._get("/health", timeout=2.0)
        except (urllib.error.URLError, OSError):
            return None
        try:
            data = json.loads(body)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def wait_ready(self, timeout: float) -> float:
        """Poll /health until it says ready (partitions assigned, model loaded)."""
        started = time.monotonic()
        while True:
            self.check_alive()
            state = self.health()
            if state is not None and state.get("ready"):
                elapsed = time.monotonic() - started
                log.info("worker ready seconds=%.2f model=%s", elapsed, state.get("model"))
                return elapsed
            if time.monotonic() - started > timeout:
                self.dump_stacks()
                raise WorkerStartError(
                    f"the worker was not ready within {timeout:.0f}s (last /health: {state}); "
                    f"see {self.log_file} (task stacks at its end)"
                )
            time.sleep(POLL_S)

    def snapshot(self) -> WorkerSnapshot:
        try:
            status, body = self._get("/metrics")
        except (urllib.error.URLError, OSError) as err:
            self.check_alive()
            raise BenchError(f"could not read {self.url}/metrics: {err}") from err
        if status != 200:
            raise BenchError(f"{self.url}/metrics answered {status}")
        return parse_worker_metrics(body.decode("utf-8"))

    def dump_stacks(self, wait_s: float = 2.0) -> None:
        """Ask the worker for a dump of its threads and asyncio tasks (into its log).

        ``mode``, under Faust, prints every stack on SIGUSR1: the way to see what a worker
        that stopped making progress waits for.
        """
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGUSR1)
            time.sleep(wait_s)

    def stop(self, timeout: float = 30.0) -> bool:
        if self.proc is None:
            return True
        return stop_process(self.proc, "worker", timeout)
