"""The local broker's files: where they live in its data dir and its rendered server.properties.

The templates (``server.properties``, ``log4j2.xml``) and the Maven ``pom.xml`` live in
``infra/kafka`` of the source checkout; nothing here holds Kafka settings of its own.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from pathlib import Path
from string import Template

from pipeline.kafka.exceptions import BrokerError
from pipeline.kafka.ports import LOOPBACK

INFRA_DIR = Path(__file__).resolve().parents[2] / "infra" / "kafka"
INFRA_FILES = ("pom.xml", "server.properties", "log4j2.xml")


@dataclass(frozen=True)
class InfraFiles:
    """``infra/kafka``: the Maven pom, the server.properties template and the log4j2 config."""

    root: Path

    @classmethod
    def locate(cls, root: Path | None = None) -> InfraFiles:
        root = (root or INFRA_DIR).resolve()
        missing = [name for name in INFRA_FILES if not (root / name).is_file()]
        if missing:
            raise BrokerError(
                f"{', '.join(missing)} not found in {root}; the local broker runs from a "
                f"source checkout of fraudstream (infra/kafka), or use a broker of your own "
                f"via FRAUDSTREAM_KAFKA_BOOTSTRAP"
            )
        return cls(root)

    @property
    def pom(self) -> Path:
        return self.root / "pom.xml"

    @property
    def server_template(self) -> Path:
        return self.root / "server.properties"

    @property
    def log4j_config(self) -> Path:
        return self.root / "log4j2.xml"


@dataclass(frozen=True)
class BrokerLayout:
    """Files of one broker under its data dir; the data dir is the broker's identity."""

    data_dir: Path

    @property
    def log_dirs(self) -> Path:
        """Kafka's ``log.dirs``: the metadata log and every partition."""
        return self.data_dir / "kraft"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def server_log(self) -> Path:
        return self.logs_dir / "server.log"

    @property
    def console_log(self) -> Path:
        """stdout and stderr of the JVM: start-up failures land here."""
        return self.logs_dir / "console.log"

    @property
    def config_file(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def node_file(self) -> Path:
        """What formatting fixed for good: cluster id and controller port."""
        return self.data_dir / "node.json"

    @property
    def run_file(self) -> Path:
        """Present while the broker runs: pid and ports, for ``kafka down``/``status``."""
        return self.data_dir / "broker.json"

    def is_formatted(self) -> bool:
        return (self.log_dirs / "meta.properties").is_file()


def render_server_properties(
    template: str,
    *,
    port: int,
    controller_port: int,
    log_dirs: Path,
    partitions: int,
    host: str = LOOPBACK,
) -> str:
    """Fill the ``${name}`` placeholders of the server.properties template."""
    if port == controller_port:
        raise BrokerError(f"broker and controller need two ports, both are {port}")
    try:
        return Template(template).substitute(
            host=host,
            port=port,
            controller_port=controller_port,
            log_dirs=log_dirs.as_posix(),
            partitions=partitions,
        )
    except (KeyError, ValueError) as err:
        raise BrokerError(
            f"infra/kafka/server.properties has a placeholder this version cannot fill: {err}"
        ) from err


def new_cluster_id() -> str:
    """A random Kafka cluster id: 16 bytes, URL-safe base64, no padding (as Kafka's Uuid)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not text.startswith("-"):  # Kafka avoids ids that look like a CLI flag
            return text
