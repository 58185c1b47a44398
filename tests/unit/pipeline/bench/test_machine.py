"""Machine facts and process CPU accounting."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from pipeline.bench.machine import (
    git_facts,
    host_cpu_seconds,
    machine_facts,
    process_cpu_seconds,
)
from pipeline.bench.processes import cli_command


def test_process_cpu_seconds_counts_this_process() -> None:
    before = process_cpu_seconds(os.getpid())
    if before is None:  # no /proc (macOS)
        return
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:
        pass
    after = process_cpu_seconds(os.getpid())
    assert after is not None and after >= before + 0.03
    assert process_cpu_seconds(None) is None


def test_machine_and_git_facts(tmp_path: Path) -> None:
    facts = machine_facts()
    assert facts["cpus"] == os.cpu_count()
    assert facts["versions"]["python"].count(".") == 2
    assert git_facts(tmp_path) == {}  # not a checkout


def test_profiled_worker_runs_under_the_cpu_clock_wrapper(tmp_path: Path) -> None:
    assert cli_command("worker") == [sys.executable, "-m", "pipeline.cli", "worker"]
    profiled = cli_command("worker", profile=tmp_path / "w.prof")
    assert profiled[1:4] == ["-m", "pipeline.bench.profiled", str(tmp_path / "w.prof")]
    assert profiled[-1] == "worker"


def test_host_cpu_seconds_sums_the_hosts_cpu_line(tmp_path: Path) -> None:
    """busy = user + nice + system + irq + softirq; idle takes the I/O wait; steal apart."""
    tick = os.sysconf("SC_CLK_TCK")
    stat = tmp_path / "stat"
    stat.write_text(
        f"cpu  {tick * 10} {tick} {tick * 4} {tick * 50} {tick * 2} 0 {tick} {tick * 3} 0 0\n"
        "cpu0 1 2 3 4 5 6 7 8 0 0\n"
    )
    assert host_cpu_seconds(stat) == {"busy": 16.0, "idle": 52.0, "steal": 3.0}
    assert host_cpu_seconds(tmp_path / "missing") is None
    live = host_cpu_seconds()
    assert live is not None and live["busy"] > 0
