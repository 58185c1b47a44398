"""Small JSON records a broker keeps in its data dir, and whether its process still lives."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pipeline.kafka.exceptions import BrokerError

JVM_MAIN_CLASS = "kafka.Kafka"


@dataclass(frozen=True)
class NodeRecord:
    """Written once, when the storage is formatted."""

    cluster_id: str
    controller_port: int


@dataclass(frozen=True)
class RunRecord:
    """Written at start, removed at a clean stop."""

    pid: int
    port: int
    controller_port: int
    data_dir: str
    config_file: str
    started_at: str


def write_record(path: Path, record: NodeRecord | RunRecord) -> None:
    """Write atomically, so a reader never sees half a file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(asdict(record), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def _load(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise BrokerError(f"{path} is unreadable ({err}); delete it and try again") from err
    if not isinstance(data, dict):
        raise BrokerError(f"{path} is not a JSON object; delete it and try again")
    return data


def read_node(path: Path) -> NodeRecord | None:
    data = _load(path)
    if data is None:
        return None
    try:
        return NodeRecord(
            cluster_id=str(data["cluster_id"]), controller_port=int(data["controller_port"])
        )
    except (KeyError, TypeError, ValueError) as err:
        raise BrokerError(f"{path} lacks {err}; delete it and try again") from err


def read_run(path: Path) -> RunRecord | None:
    data = _load(path)
    if data is None:
        return None
    try:
        return RunRecord(
            pid=int(data["pid"]),
            port=int(data["port"]),
            controller_port=int(data["controller_port"]),
            data_dir=str(data["data_dir"]),
            config_file=str(data["config_file"]),
            started_at=str(data["started_at"]),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise BrokerError(f"{path} lacks {err}; delete it and try again") from err


def broker_process_alive(pid: int, config_file: str) -> bool:
    """True when ``pid`` is a live (not zombie) JVM running ``kafka.Kafka`` on ``config_file``.

    Checking the command line guards against a recycled pid. Where ``/proc`` does not exist
    (macOS), only the existence of the pid can be checked.
    """
    proc = Path("/proc") / str(pid)
    if Path("/proc/self").exists():
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        state = stat.rsplit(")", 1)[-1].split()[0]
        if state in ("Z", "X"):
            return False
        args = [arg.decode(errors="replace") for arg in cmdline]
        return JVM_MAIN_CLASS in args and config_file in args
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
