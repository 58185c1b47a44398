"""Machine facts and process CPU accounting."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from pipeline.bench.machine import git_facts, machine_facts, process_cpu_seconds
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
