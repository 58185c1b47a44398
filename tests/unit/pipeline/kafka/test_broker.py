"""LocalBroker refusals and process handling, without a JVM: fakes stand in for java/mvn and
a sleeping Python process carrying the broker's command line stands in for the broker."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipeline.kafka.broker import LocalBroker
from pipeline.kafka.exceptions import (
    BrokerError,
    JavaMissingError,
    MavenMissingError,
    PortInUseError,
)
from pipeline.kafka.ports import free_port
from pipeline.kafka.runfile import JVM_MAIN_CLASS, RunRecord, write_record
from pipeline.settings import Settings
from tests.unit.pipeline.kafka.fakes import FAKE_JAVA

FakeBin = Callable[[str, str], Path]

SLEEPER = """
import signal, sys, time
if sys.argv[1] == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
time.sleep(60)
"""


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def fake_broker_process(
    tmp_path: Path,
) -> Iterator[Callable[[LocalBroker, str], subprocess.Popen[str]]]:
    """Start a process whose command line names kafka.Kafka and the broker's config file,
    and record it in the broker's run-file, as start() would."""
    procs: list[subprocess.Popen[str]] = []

    def spawn(broker: LocalBroker, mode: str = "plain") -> subprocess.Popen[str]:
        config = str(broker.layout.config_file)
        proc = subprocess.Popen(
            [sys.executable, "-c", SLEEPER, mode, JVM_MAIN_CLASS, config],
            stdout=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        broker.data_dir.mkdir(parents=True, exist_ok=True)
        record = RunRecord(
            pid=proc.pid,
            port=broker.port,
            controller_port=broker.port + 1,
            data_dir=str(broker.data_dir),
            config_file=config,
            started_at="2026-01-01T00:00:00+00:00",
        )
        write_record(broker.layout.run_file, record)
        return proc

    yield spawn
    for proc in procs:
        proc.kill()
        proc.wait()


def test_port_in_use_is_refused_before_anything_runs(
    settings: Settings, tmp_path: Path, listening: int, fake_bin: FakeBin
) -> None:
    broker = LocalBroker(settings, port=listening, data_dir=tmp_path / "data")
    with pytest.raises(PortInUseError, match=f"port {listening} on 127.0.0.1"):
        broker.start()
    # up() refuses too, before it would fetch jars (PATH is empty: that would be MavenMissing)
    with pytest.raises(PortInUseError):
        broker.up()
    assert not broker.layout.run_file.exists()


def test_format_without_java_is_refused(
    settings: Settings, tmp_path: Path, fake_bin: FakeBin
) -> None:
    broker = LocalBroker(settings, port=free_port(), data_dir=tmp_path / "data")
    with pytest.raises(JavaMissingError, match="install"):
        broker.format_if_new()
    assert not broker.layout.is_formatted()


def test_start_without_java_is_refused(
    settings: Settings, tmp_path: Path, fake_bin: FakeBin
) -> None:
    broker = LocalBroker(settings, port=free_port(), data_dir=tmp_path / "data")
    with pytest.raises(JavaMissingError):
        broker.start()


def test_jars_without_mvn_are_refused(
    settings: Settings, tmp_path: Path, fake_bin: FakeBin
) -> None:
    fake_bin("java", FAKE_JAVA.format(version="17.0.15"))
    broker = LocalBroker(settings, port=free_port(), data_dir=tmp_path / "data")
    with pytest.raises(MavenMissingError, match="mvn"):
        broker.ensure_jars()


def test_start_without_jars_says_how_to_get_them(
    settings: Settings, tmp_path: Path, fake_bin: FakeBin
) -> None:
    fake_bin("java", FAKE_JAVA.format(version="17.0.15"))
    broker = LocalBroker(settings, port=free_port(), data_dir=tmp_path / "data")
    with pytest.raises(BrokerError, match="jars are missing"):
        broker.start()


def test_stale_run_file_means_not_running(settings: Settings, tmp_path: Path) -> None:
    broker = LocalBroker(settings, port=free_port(), data_dir=tmp_path / "data")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    broker.data_dir.mkdir(parents=True)
    write_record(
        broker.layout.run_file,
        RunRecord(
            pid=dead.pid,
            port=broker.port,
            controller_port=broker.port + 1,
            data_dir=str(broker.data_dir),
            config_file=str(broker.layout.config_file),
            started_at="2026-01-01T00:00:00+00:00",
        ),
    )
    assert broker.status(probe=False).running is False
    assert broker.stop(timeout=1) is False
    assert not broker.layout.run_file.exists()


def test_running_broker_is_not_started_twice(
    settings: Settings, tmp_path: Path, fake_broker_process: Callable[..., subprocess.Popen[str]]
) -> None:
    broker = LocalBroker(settings, port=free_port(), data_dir=tmp_path / "data")
    proc = fake_broker_process(broker)
    state = broker.status(probe=False)
    assert state.running and state.pid == proc.pid
    with pytest.raises(BrokerError, match="already runs"):
        broker.start()


def test_stop_terminates_and_clears_the_run_file(
    settings: Settings, tmp_path: Path, fake_broker_process: Callable[..., subprocess.Popen[str]]
) -> None:
    broker = LocalBroker(settings, port=free_port(), data_dir=tmp_path / "data")
    proc = fake_broker_process(broker)
    assert broker.stop(timeout=10) is True
    assert proc.wait(timeout=5) == -15  # SIGTERM
    assert not broker.layout.run_file.exists()
    assert broker.status(probe=False).running is False


def test_stop_kills_a_broker_that_ignores_sigterm(
    settings: Settings,
    tmp_path: Path,
    fake_broker_process: Callable[..., subprocess.Popen[str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = LocalBroker(settings, port=free_port(), data_dir=tmp_path / "data")
    proc = fake_broker_process(broker, "ignore-term")
    with caplog.at_level(logging.WARNING, logger="pipeline.kafka.broker"):
        assert broker.stop(timeout=0.5) is True
    assert proc.wait(timeout=5) == -9  # SIGKILL
    assert "ignored SIGTERM" in caplog.text


def test_own_child_counts_as_alive_before_it_execs_the_jvm(
    settings: Settings, tmp_path: Path
) -> None:
    """Between fork and exec the child's command line is still Python's, not the broker's:
    the broker's own handle must say alive, or a slow exec reads as "exited while starting"
    and a second broker gets started on the same data dir."""
    broker = LocalBroker(settings, port=free_port(), data_dir=tmp_path / "data")
    child = subprocess.Popen([sys.executable, "-c", SLEEPER, "-"], stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
        run = RunRecord(
            pid=child.pid,
            port=broker.port,
            controller_port=free_port(),
            data_dir=str(broker.data_dir),
            config_file=str(tmp_path / "server.properties"),
            started_at="2026-11-29T00:00:00+00:00",
        )
        broker._proc = child
        assert broker._alive(run)  # no kafka.Kafka on its command line, yet ours and running
        child.kill()
        child.wait(10)
        assert not broker._alive(run)
    finally:
        child.kill()
        child.wait(10)
