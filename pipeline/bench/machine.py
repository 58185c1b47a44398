"""Facts about the machine and the code a figure was measured on."""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("onnxruntime", "faust-streaming", "aiokafka", "kafka-python", "numpy")


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def host_cpu_seconds(path: Path = Path("/proc/stat")) -> dict[str, float] | None:
    """CPU seconds of the whole host so far, summed over its CPUs: ``busy`` (user, nice,
    system, interrupts), ``idle`` (with I/O wait) and ``steal`` (time the hypervisor gave
    to other guests while this one wanted to run); None where unknown."""
    try:
        first = path.read_text(encoding="utf-8").splitlines()[0].split()
        user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in first[1:9])
    except (OSError, IndexError, ValueError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    return {
        "busy": (user + nice + system + irq + softirq) / tick,
        "idle": (idle + iowait) / tick,
        "steal": steal / tick,
    }


def process_cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of a live process (all its threads); None where unknown."""
    if pid is None:
        return None
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()  # after "pid (comm)"; utime, stime are 14, 15
    try:
        ticks = int(fields[11]) + int(fields[12])
    except (IndexError, ValueError):
        return None
    return ticks / os.sysconf("SC_CLK_TCK")


def _cpuinfo(path: Path = Path("/proc/cpuinfo")) -> str | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return None


def _memory_gib(path: Path = Path("/proc/meminfo")) -> float | None:
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        return None
    return None


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def machine_facts() -> dict[str, Any]:
    return {
        "cpu_model": _cpuinfo() or platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": _memory_gib(),
        "platform": platform.platform(),
        "versions": _versions(),
    }


def git_facts(repo: Path = REPO) -> dict[str, Any]:
    """Commit and whether the tree had changes; empty when this is not a git checkout."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", "-C", str(repo), *args],
                capture_output=True, text=True, timeout=10, check=True,
            )  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status)}


def command_line() -> str:
    return " ".join(shlex.quote(a) for a in [Path(sys.argv[0]).name, *sys.argv[1:]])
