"""A real single-node Apache Kafka 4.x (KRaft, broker + controller in one JVM) on this host.

No Docker: the jars come from Maven (``infra/kafka/pom.xml``), the JVM runs in its own
session in the background, and a run-file in the data dir lets a later process (``kafka
down``/``status``) find it. The data dir is the broker's identity: restarting on the same
data dir keeps topics, messages and committed offsets.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipeline.kafka import admin, runtime
from pipeline.kafka.config import BrokerLayout, InfraFiles, new_cluster_id, render_server_properties
from pipeline.kafka.exceptions import BrokerError, PortInUseError
from pipeline.kafka.ports import LOOPBACK, free_port, port_in_use
from pipeline.kafka.runfile import (
    JVM_MAIN_CLASS,
    NodeRecord,
    RunRecord,
    broker_process_alive,
    read_node,
    read_run,
    write_record,
)
from pipeline.settings import Settings

log = logging.getLogger(__name__)

FORMAT_TIMEOUT_S = 120.0
POLL_INTERVAL_S = 0.2
KILL_WAIT_S = 10.0


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    data_dir: Path
    port: int
    pid: int | None = None
    started_at: str | None = None
    reachable: bool | None = None  # None: not probed

    @property
    def bootstrap(self) -> str:
        return f"{LOOPBACK}:{self.port}"


class LocalBroker:
    """One local broker, identified by its data dir.

    ``port`` and ``data_dir`` override ``settings.kafka_port`` and ``settings.kafka_data``;
    jars are shared by every broker of the same settings (``settings.kafka_libs``).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        port: int | None = None,
        data_dir: Path | None = None,
        infra: InfraFiles | None = None,
    ) -> None:
        self.settings = settings
        self.port = port if port is not None else settings.kafka_port
        self.layout = BrokerLayout((data_dir or settings.kafka_data).resolve())
        self.libs_dir = settings.kafka_libs.resolve()
        self._infra = infra
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def infra(self) -> InfraFiles:
        if self._infra is None:
            self._infra = InfraFiles.locate()
        return self._infra

    @property
    def bootstrap(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.layout.data_dir

    # -- preparation ---------------------------------------------------------------------

    def ensure_jars(self) -> bool:
        """Fetch the broker's jars with Maven unless present; True when it fetched."""
        return runtime.ensure_jars(self.libs_dir, self.infra.pom)

    def format_if_new(self) -> bool:
        """Format the KRaft storage of a new data dir; True when it formatted."""
        if self.layout.is_formatted():
            return False
        java = runtime.find_java()
        self._require_jars()
        self.layout.logs_dir.mkdir(parents=True, exist_ok=True)
        node = NodeRecord(cluster_id=new_cluster_id(), controller_port=self._free_controller_port())
        self._write_config(node.controller_port)
        cmd = [
            *self._jvm_base(java, heap_mb=256),
            "kafka.tools.StorageTool",
            "format",
            "--standalone",
            "--cluster-id",
            node.cluster_id,
            "--config",
            str(self.layout.config_file),
        ]
        started = time.monotonic()
        try:
            out = subprocess.run(
                cmd, capture_output=True, text=True, timeout=FORMAT_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired as err:
            raise BrokerError(
                f"formatting {self.data_dir} took over {FORMAT_TIMEOUT_S:.0f}s"
            ) from err
        if out.returncode != 0:
            raise BrokerError(
                f"formatting {self.data_dir} failed (exit {out.returncode}): "
                f"{(out.stderr or out.stdout).strip()[-500:]} — delete the folder and retry"
            )
        write_record(self.layout.node_file, node)
        log.info(
            "kafka storage formatted data_dir=%s cluster_id=%s seconds=%.2f",
            self.data_dir,
            node.cluster_id,
            time.monotonic() - started,
        )
        return True

    # -- life cycle ----------------------------------------------------------------------

    def check_port(self) -> None:
        """Refuse with :class:`PortInUseError` when the broker port is taken."""
        if port_in_use(self.port):
            raise PortInUseError(LOOPBACK, self.port)

    def start(self) -> int:
        """Launch the JVM in the background; returns its pid. Call :meth:`wait_ready` next."""
        current = self.status(probe=False)
        if current.running:
            raise BrokerError(
                f"a broker already runs on {self.data_dir} (pid {current.pid}, port "
                f"{current.port}); stop it with `fraudstream kafka down`"
            )
        self.layout.run_file.unlink(missing_ok=True)  # stale: its process is gone
        self.check_port()
        java = runtime.find_java()
        self._require_jars()
        node = read_node(self.layout.node_file)
        if not self.layout.is_formatted() or node is None:
            raise BrokerError(f"{self.data_dir} is not formatted; run format_if_new() first")
        node = self._controller_port_for(node)
        self._write_config(node.controller_port)
        self.layout.logs_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            *self._jvm_base(java, heap_mb=self.settings.kafka_heap_mb),
            JVM_MAIN_CLASS,
            str(self.layout.config_file),
        ]
        with self.layout.console_log.open("ab") as console:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,
            )
        record = RunRecord(
            pid=self._proc.pid,
            port=self.port,
            controller_port=node.controller_port,
            data_dir=str(self.data_dir),
            config_file=str(self.layout.config_file),
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        write_record(self.layout.run_file, record)
        log.info(
            "kafka broker started pid=%d port=%d controller_port=%d data_dir=%s",
            record.pid,
            self.port,
            node.controller_port,
            self.data_dir,
        )
        return record.pid

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Poll until a metadata request lists this broker; returns the seconds it took."""
        started = time.monotonic()
        deadline = started + timeout
        while True:
            run = read_run(self.layout.run_file)
            if run is None or not self._alive(run):
                raise BrokerError(
                    f"the broker on {self.data_dir} exited while starting"
                    f"{self._exit_detail()}; see {self.layout.server_log} and "
                    f"{self.layout.console_log}"
                )
            remaining = deadline - time.monotonic()
            if admin.cluster_ready(self.bootstrap, timeout_s=max(min(remaining, 2.0), 0.2)):
                elapsed = time.monotonic() - started
                log.info("kafka broker ready bootstrap=%s seconds=%.2f", self.bootstrap, elapsed)
                return elapsed
            if time.monotonic() >= deadline:
                raise BrokerError(
                    f"the broker on {self.data_dir} did not answer at {self.bootstrap} within "
                    f"{timeout:.0f}s; see {self.layout.server_log}"
                )
            time.sleep(POLL_INTERVAL_S)

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM (clean shutdown), SIGKILL after ``timeout``; False when nothing ran."""
        run = read_run(self.layout.run_file)
        if run is None or not self._alive(run):
            self.layout.run_file.unlink(missing_ok=True)
            log.info("kafka broker not running data_dir=%s", self.data_dir)
            return False
        started = time.monotonic()
        self._signal(run.pid, signal.SIGTERM)
        clean = self._wait_exit(run, timeout)
        if not clean:
            log.warning(
                "kafka broker ignored SIGTERM pid=%d timeout_s=%.0f; killing", run.pid, timeout
            )
            self._signal(run.pid, signal.SIGKILL)
            if not self._wait_exit(run, KILL_WAIT_S):
                raise BrokerError(f"broker pid {run.pid} survived SIGKILL; check the host")
        self.layout.run_file.unlink(missing_ok=True)
        log.info(
            "kafka broker stopped pid=%d clean=%s seconds=%.2f",
            run.pid,
            clean,
            time.monotonic() - started,
        )
        return True

    def status(self, *, probe: bool = True) -> BrokerStatus:
        """Whether the broker of this data dir runs; ``probe`` also asks it for metadata."""
        run = read_run(self.layout.run_file)
        if run is None or not self._alive(run):
            return BrokerStatus(running=False, data_dir=self.data_dir, port=self.port)
        reachable = admin.cluster_ready(f"{LOOPBACK}:{run.port}") if probe else None
        return BrokerStatus(
            running=True,
            data_dir=self.data_dir,
            port=run.port,
            pid=run.pid,
            started_at=run.started_at,
            reachable=reachable,
        )

    def up(self, timeout: float = 60.0) -> float:
        """Jars, format, start and wait: the whole ``kafka up``; returns seconds to ready."""
        self.check_port()
        self.ensure_jars()
        self.format_if_new()
        self.start()
        try:
            return self.wait_ready(timeout)
        except BrokerError:
            self.stop(timeout=10.0)
            raise

    # -- helpers -------------------------------------------------------------------------

    def _jvm_base(self, java: str, heap_mb: int) -> list[str]:
        return [
            java,
            f"-Xms{min(heap_mb, 256)}m",
            f"-Xmx{heap_mb}m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={self.layout.logs_dir}",
            f"-Dlog4j2.configurationFile={self.infra.log4j_config}",
            "-cp",
            f"{self.libs_dir}{os.sep}*",
        ]

    def _require_jars(self) -> None:
        if not runtime.jars_ready(self.libs_dir, self.infra.pom):
            raise BrokerError(
                f"the Kafka jars are missing in {self.libs_dir}; run `fraudstream kafka up` "
                f"(it fetches them) or ensure_jars() first"
            )

    def _write_config(self, controller_port: int) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        text = render_server_properties(
            self.infra.server_template.read_text(encoding="utf-8"),
            port=self.port,
            controller_port=controller_port,
            log_dirs=self.layout.log_dirs,
            partitions=self.settings.partitions,
        )
        self.layout.config_file.write_text(text, encoding="utf-8")

    def _controller_port_for(self, node: NodeRecord) -> NodeRecord:
        """The recorded controller port, or a new free one when something took it.

        A single-voter quorum re-elects itself on any port, so moving it is safe here.
        """
        if node.controller_port != self.port and not port_in_use(node.controller_port):
            return node
        moved = NodeRecord(cluster_id=node.cluster_id, controller_port=self._free_controller_port())
        log.warning(
            "controller port taken, moving old=%d new=%d",
            node.controller_port,
            moved.controller_port,
        )
        write_record(self.layout.node_file, moved)
        return moved

    def _free_controller_port(self) -> int:
        """A free port other than the broker's (which is free too until the broker binds it)."""
        port = free_port()
        while port == self.port:
            port = free_port()
        return port

    def _alive(self, run: RunRecord) -> bool:
        if self._proc is not None and self._proc.pid == run.pid:
            # our own child: its handle knows (poll() also reaps it). Its /proc command line
            # is not to be trusted yet: between fork and exec it is still this Python's, and
            # a busy host can stretch that gap past the first readiness poll.
            return self._proc.poll() is None
        return broker_process_alive(run.pid, run.config_file)

    def _wait_exit(self, run: RunRecord, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self._alive(run):
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_INTERVAL_S)
        return True

    def _exit_detail(self) -> str:
        if self._proc is not None and self._proc.returncode is not None:
            return f" (exit {self._proc.returncode})"
        return ""

    @staticmethod
    def _signal(pid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
