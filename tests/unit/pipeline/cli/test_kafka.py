"""``fraudstream kafka``/``topics`` commands, without a JVM: refusals and finding brokers."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.kafka.config import BrokerLayout
from pipeline.kafka.exceptions import KafkaUnavailableError, PortInUseError
from pipeline.kafka.ports import free_port
from pipeline.kafka.runfile import JVM_MAIN_CLASS, RunRecord, write_record

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"FRAUDSTREAM_HOME": str(tmp_path / "home")}


@pytest.fixture
def recorded_broker(tmp_path: Path) -> Iterator[tuple[int, BrokerLayout, subprocess.Popen[str]]]:
    """A stand-in broker process recorded in a data dir under <home>/kafka, not the default."""
    layout = BrokerLayout(tmp_path / "home" / "kafka" / "data-extra")
    layout.data_dir.mkdir(parents=True)
    config = str(layout.config_file)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; print('ready', flush=True); time.sleep(60)",
            JVM_MAIN_CLASS,
            config,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    port = free_port()
    write_record(
        layout.run_file,
        RunRecord(
            pid=proc.pid,
            port=port,
            controller_port=port + 1,
            data_dir=str(layout.data_dir),
            config_file=config,
            started_at="2026-01-01T00:00:00+00:00",
        ),
    )
    yield port, layout, proc
    proc.kill()
    proc.wait()


def test_status_of_nothing_exits_1(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["kafka", "status"], env=env)
    assert result.exit_code == 1
    assert "not running" in result.output


def test_down_of_nothing_is_fine(env: dict[str, str], tmp_path: Path) -> None:
    result = runner.invoke(app, ["kafka", "down", "--data-dir", str(tmp_path / "d")], env=env)
    assert result.exit_code == 0
    assert "not running" in result.output


def test_up_on_a_taken_port_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = runner.invoke(
            app, ["kafka", "up", "--port", str(port), "--data-dir", str(tmp_path / "d")], env=env
        )
    assert isinstance(result.exception, PortInUseError)


def test_topics_create_without_broker_names_the_fix(env: dict[str, str]) -> None:
    result = runner.invoke(
        app, ["topics", "create", "--bootstrap", f"127.0.0.1:{free_port()}"], env=env
    )
    assert isinstance(result.exception, KafkaUnavailableError)
    assert "fraudstream kafka up" in str(result.exception)


def test_down_by_port_finds_the_recorded_data_dir(
    env: dict[str, str], recorded_broker: tuple[int, BrokerLayout, subprocess.Popen[str]]
) -> None:
    port, layout, proc = recorded_broker
    result = runner.invoke(app, ["kafka", "down", "--port", str(port)], env=env)
    assert result.exit_code == 0, result.output
    assert "kafka stopped" in result.output
    assert proc.wait(timeout=10) == -15
    assert not layout.run_file.exists()


def test_main_prints_one_line_for_known_errors(env: dict[str, str]) -> None:
    """The console script turns a FraudstreamError into one line and exit status 1."""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from pipeline.cli import main; main()",
            "topics",
            "create",
            "--bootstrap",
            f"127.0.0.1:{free_port()}",
        ],
        capture_output=True,
        text=True,
        env={**env, "PATH": "/usr/bin:/bin", "COLUMNS": "400"},
        timeout=60,
    )
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "no Kafka broker answers" in errors[0]
    assert "Traceback" not in proc.stderr
