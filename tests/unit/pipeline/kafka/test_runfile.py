"""Run-file records and the liveness check that guards against recycled pids."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.kafka.exceptions import BrokerError
from pipeline.kafka.runfile import (
    NodeRecord,
    RunRecord,
    broker_process_alive,
    read_node,
    read_run,
    write_record,
)


def test_records_round_trip(tmp_path: Path) -> None:
    node = NodeRecord(cluster_id="abc", controller_port=4242)
    run = RunRecord(
        pid=123,
        port=9092,
        controller_port=4242,
        data_dir=str(tmp_path),
        config_file=str(tmp_path / "server.properties"),
        started_at="2026-01-01T00:00:00+00:00",
    )
    write_record(tmp_path / "node.json", node)
    write_record(tmp_path / "broker.json", run)
    assert read_node(tmp_path / "node.json") == node
    assert read_run(tmp_path / "broker.json") == run
    assert read_run(tmp_path / "missing.json") is None


def test_corrupt_record_says_to_delete_it(tmp_path: Path) -> None:
    path = tmp_path / "broker.json"
    path.write_text("{not json")
    with pytest.raises(BrokerError, match="delete it"):
        read_run(path)


def test_exited_process_is_not_alive(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not broker_process_alive(child.pid, str(tmp_path / "server.properties"))


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs /proc to read command lines")
def test_live_process_that_is_not_our_broker_is_not_alive(tmp_path: Path) -> None:
    # this very process lives, but its command line is not kafka.Kafka on our config
    assert not broker_process_alive(os.getpid(), str(tmp_path / "server.properties"))
