"""Integration fixtures: one real Kafka broker per test session, unique topics per test.

The broker, first match wins:
1. ``FRAUDSTREAM_TEST_KAFKA=host:port`` — a broker that already runs (CI service, compose);
2. a Docker daemon answers — the official ``apache/kafka`` image through testcontainers;
3. otherwise the local broker of ``infra/kafka`` (needs ``java`` 17+; ``mvn`` on the first
   run): a fresh data dir under pytest's tmp dir, jars shared in the repo's
   ``.state/kafka/libs`` so they are fetched once, stopped at session end.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipeline.kafka import (
    BrokerError,
    JavaMissingError,
    LocalBroker,
    MavenMissingError,
    cluster_ready,
    create_topics,
    delete_topics,
)
from pipeline.kafka.config import new_cluster_id
from pipeline.kafka.ports import free_port
from pipeline.settings import Settings
from tests.integration.polling import poll_until

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
KAFKA_IMAGE = "apache/kafka:4.1.1"
READY_TIMEOUT_S = 120.0


def _docker_answers() -> bool:
    try:
        import docker  # testcontainers' dependency; imported only when needed
    except ImportError:
        return False
    try:
        client = docker.from_env(timeout=5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception as err:  # docker raises a zoo of errors for "no daemon"
        log.debug("no docker daemon error=%s", err)
        return False


def _testcontainers_kafka() -> Iterator[str]:
    """apache/kafka in KRaft mode; the host port is chosen first so it can be advertised."""
    from testcontainers.core.container import DockerContainer

    port = free_port()
    container = (
        DockerContainer(KAFKA_IMAGE)
        .with_bind_ports(port, port)
        .with_env("CLUSTER_ID", new_cluster_id())  # the image refuses KRaft without one
        .with_env("KAFKA_NODE_ID", "1")
        .with_env("KAFKA_PROCESS_ROLES", "broker,controller")
        .with_env("KAFKA_LISTENERS", f"PLAINTEXT://:{port},CONTROLLER://:9093")
        .with_env("KAFKA_ADVERTISED_LISTENERS", f"PLAINTEXT://127.0.0.1:{port}")
        .with_env(
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
        )
        .with_env("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER")
        .with_env("KAFKA_CONTROLLER_QUORUM_VOTERS", "1@localhost:9093")
        .with_env("KAFKA_INTER_BROKER_LISTENER_NAME", "PLAINTEXT")
        .with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
        .with_env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
        .with_env("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR", "1")
        .with_env("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
    )
    with container:
        bootstrap = f"127.0.0.1:{port}"
        poll_until(
            lambda: cluster_ready(bootstrap),
            timeout=READY_TIMEOUT_S,
            interval=0.5,
            message=f"{KAFKA_IMAGE} ready at {bootstrap}",
        )
        yield bootstrap


def _local_broker(settings: Settings, data_dir: Path) -> Iterator[str]:
    broker = LocalBroker(settings, port=free_port(), data_dir=data_dir)
    try:
        broker.up(timeout=READY_TIMEOUT_S)
    except (JavaMissingError, MavenMissingError) as err:
        pytest.skip(f"no Kafka broker for integration tests: {err}")
    try:
        yield broker.bootstrap
    finally:
        try:
            broker.stop(timeout=30)
        except BrokerError as err:
            log.warning("test broker did not stop error=%s", err)


@pytest.fixture(scope="session")
def kafka_settings() -> Settings:
    """Settings for local brokers in tests: FRAUDSTREAM_HOME if set, else the repo's .state,
    so the jars are fetched once and shared with `fraudstream kafka up`."""
    if "FRAUDSTREAM_HOME" in os.environ:
        return Settings()
    return Settings(home=REPO / ".state")


@pytest.fixture(scope="session")
def kafka_bootstrap(
    kafka_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Bootstrap address of the session's real Kafka broker."""
    external = os.environ.get("FRAUDSTREAM_TEST_KAFKA")
    if external:
        yield external
    elif _docker_answers():
        yield from _testcontainers_kafka()
    else:
        yield from _local_broker(kafka_settings, tmp_path_factory.mktemp("kafka"))


TopicFactory = Callable[..., str]


@pytest.fixture
def unique_topic(kafka_bootstrap: str, request: pytest.FixtureRequest) -> Iterator[TopicFactory]:
    """``unique_topic(suffix="", partitions=1)`` creates a topic no other test uses, and
    returns its name; the test's topics are deleted when it ends."""
    created: list[str] = []
    # dots separate the parts; no underscores, which Kafka warns may collide with dots
    test_name = re.sub(r"[^A-Za-z0-9-]+", "-", request.node.name).strip("-")[:120]

    def make(suffix: str = "", partitions: int = 1) -> str:
        parts = ["test", test_name, suffix, uuid.uuid4().hex[:8]]
        name = ".".join(p for p in parts if p)
        create_topics(kafka_bootstrap, partitions=partitions, topics=[name])
        created.append(name)
        return name

    yield make
    if created:
        try:
            delete_topics(kafka_bootstrap, created)
        except Exception as err:  # cleanup must not mask the test's own result
            log.warning("could not delete test topics topics=%s error=%s", created, err)
