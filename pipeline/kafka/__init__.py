"""Kafka for fraudstream: a local single-node broker and topic administration."""

from pipeline.kafka.admin import (
    TopicsResult,
    cluster_ready,
    create_topics,
    delete_topics,
    describe_topics,
    wait_for_topics,
)
from pipeline.kafka.broker import BrokerStatus, LocalBroker
from pipeline.kafka.exceptions import (
    BrokerError,
    JarFetchError,
    JavaMissingError,
    KafkaUnavailableError,
    MavenMissingError,
    PortInUseError,
    TopicError,
)

__all__ = [
    "BrokerError",
    "BrokerStatus",
    "JarFetchError",
    "JavaMissingError",
    "KafkaUnavailableError",
    "LocalBroker",
    "MavenMissingError",
    "PortInUseError",
    "TopicError",
    "TopicsResult",
    "cluster_ready",
    "create_topics",
    "delete_topics",
    "describe_topics",
    "wait_for_topics",
]
