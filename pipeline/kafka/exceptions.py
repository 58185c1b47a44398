"""Errors of the Kafka subpackage: the local broker's life cycle and topic administration.

Each message says what to do next, because the CLI prints it as the one line a user sees.
"""

from __future__ import annotations

from schemas import FraudstreamError


class BrokerError(FraudstreamError):
    """The local broker could not be prepared, started, reached or stopped."""


class JavaMissingError(BrokerError):
    """No suitable ``java`` (17 or newer) to run the broker."""


class MavenMissingError(BrokerError):
    """No ``mvn`` to fetch the broker's jars."""


class JarFetchError(BrokerError):
    """Maven ran but could not fetch the broker's jars."""


class PortInUseError(BrokerError):
    """A port the broker needs is already taken."""

    def __init__(self, host: str, port: int, what: str = "broker") -> None:
        super().__init__(
            f"port {port} on {host} ({what}) is already in use; stop whatever listens there "
            f"(`fraudstream kafka status` shows a broker of ours) or pick another with --port"
        )
        self.host = host
        self.port = port


class KafkaUnavailableError(FraudstreamError):
    """No Kafka broker answers at the bootstrap address."""

    def __init__(self, bootstrap: str, detail: str = "") -> None:
        suffix = f" ({detail})" if detail else ""
        super().__init__(
            f"no Kafka broker answers at {bootstrap}{suffix}; start one with "
            f"`fraudstream kafka up` or point FRAUDSTREAM_KAFKA_BOOTSTRAP / --bootstrap at one"
        )
        self.bootstrap = bootstrap


class TopicError(FraudstreamError):
    """A topic could not be created or described."""
