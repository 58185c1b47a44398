"""Topic administration with kafka-python: create the design's topics, describe, wait, delete."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import kafka.errors as kafka_errors
from kafka.admin import KafkaAdminClient

from pipeline.kafka.exceptions import KafkaUnavailableError, TopicError
from pipeline.kafka.ports import accepts_connections
from schemas import ALL_TOPICS, Topic

log = logging.getLogger(__name__)

CLIENT_ID = "fraudstream-admin"


@dataclass(frozen=True)
class TopicsResult:
    """What :func:`create_topics` did: topics it created, topics that were already there."""

    created: tuple[str, ...]
    existing: tuple[str, ...]
    # existing topics whose partition count differs from the one asked for
    mismatched: dict[str, int] = field(default_factory=dict)


def bootstrap_hosts(bootstrap: str) -> list[tuple[str, int]]:
    """``"a:9092,b:9093"`` → ``[("a", 9092), ("b", 9093)]``; the port defaults to 9092."""
    hosts = []
    for item in bootstrap.split(","):
        item = item.strip()
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        if not sep:
            host, port = item, "9092"
        try:
            hosts.append((host.strip("[]"), int(port)))
        except ValueError as err:
            raise KafkaUnavailableError(bootstrap, f"bad port in {item!r}") from err
    if not hosts:
        raise KafkaUnavailableError(bootstrap, "empty bootstrap address")
    return hosts


@contextmanager
def admin_client(bootstrap: str, timeout_s: float = 10.0) -> Iterator[KafkaAdminClient]:
    """A connected admin client, closed on exit; no broker → :class:`KafkaUnavailableError`.

    When no bootstrap host accepts a TCP connection it fails at once, instead of letting
    kafka-python retry (and log an error per retry) until the timeout.
    """
    probe_s = min(timeout_s, 2.0)
    if not any(accepts_connections(h, p, probe_s) for h, p in bootstrap_hosts(bootstrap)):
        raise KafkaUnavailableError(bootstrap, "connection refused")
    timeout_ms = max(int(timeout_s * 1000), 100)
    try:
        client = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            client_id=CLIENT_ID,
            bootstrap_timeout_ms=timeout_ms,
            request_timeout_ms=max(timeout_ms, 5000),
        )
    except kafka_errors.KafkaError as err:
        raise KafkaUnavailableError(bootstrap, type(err).__name__) from err
    try:
        yield client
    finally:
        client.close()


def cluster_ready(bootstrap: str, timeout_s: float = 2.0) -> bool:
    """True when a metadata request lists at least one unfenced broker.

    A broker that does not accept connections yet costs one TCP probe, not a kafka-python
    bootstrap that logs an error per attempt (see :func:`admin_client`).
    """
    try:
        with admin_client(bootstrap, timeout_s) as client:
            brokers = client.describe_cluster().get("brokers", [])
    except (KafkaUnavailableError, kafka_errors.KafkaError) as err:
        log.debug("cluster not ready bootstrap=%s error=%s", bootstrap, type(err).__name__)
        return False
    return any(not broker.get("is_fenced", False) for broker in brokers)


def partition_counts(client: KafkaAdminClient, topics: Iterable[str]) -> dict[str, int]:
    """Partition count of each topic that exists; missing topics are left out."""
    names = list(topics)
    if not names:
        return {}
    described = client.describe_topics(topics=names)
    return {
        t["name"]: len(t.get("partitions") or [])
        for t in described
        if t.get("error_code", 0) == 0 and t.get("name") in names
    }


def describe_topics(
    bootstrap: str, topics: Iterable[str] = ALL_TOPICS, timeout_s: float = 10.0
) -> dict[str, int]:
    """Partition count of each of ``topics`` that exists."""
    with admin_client(bootstrap, timeout_s) as client:
        return partition_counts(client, topics)


def create_topics(
    bootstrap: str,
    partitions: int = 4,
    replication_factor: int = 1,
    topics: Iterable[str] = ALL_TOPICS,
    timeout_s: float = 30.0,
    configs: dict[str, str] | None = None,
) -> TopicsResult:
    """Create ``topics``, leaving existing ones alone, and wait until every one has leaders.

    Idempotent: a topic that already exists counts as done, even with another partition
    count; such topics are reported in ``mismatched`` (co-partitioned topics must agree).
    ``configs`` (e.g. ``{"cleanup.policy": "compact"}``) apply to the topics created here.
    """
    names = list(dict.fromkeys(topics))
    if not names:
        return TopicsResult(created=(), existing=())
    # model updates need one total order: a single partition
    wanted = {name: 1 if name == Topic.MODEL_UPDATES.value else partitions for name in names}
    request: dict[str, dict[str, object]] = {
        name: {"num_partitions": n, "replication_factor": replication_factor}
        for name, n in wanted.items()
    }
    if configs:
        for options in request.values():
            options["configs"] = dict(configs)
    timeout_ms = int(timeout_s * 1000)
    created: list[str] = []
    existing: list[str] = []
    failed: list[str] = []
    with admin_client(bootstrap, timeout_s) as client:
        try:
            response = client.create_topics(request, timeout_ms=timeout_ms, raise_errors=False)
            for topic in response["topics"]:
                code = topic["error_code"]
                if code == 0:
                    created.append(topic["name"])
                elif code == kafka_errors.TopicAlreadyExistsError.errno:
                    existing.append(topic["name"])
                else:
                    error = kafka_errors.for_code(code).__name__
                    failed.append(f"{topic['name']}: {error} {topic.get('error_message') or ''}")
            if failed:
                raise TopicError(
                    f"could not create {len(failed)} topic(s): {'; '.join(failed)} — check the "
                    f"broker log and that replication factor {replication_factor} fits the cluster"
                )
            client.wait_for_topics(names, timeout_ms=timeout_ms)
            counts = partition_counts(client, existing)
        except kafka_errors.KafkaError as err:
            raise TopicError(f"topic creation at {bootstrap} failed: {err}") from err
    mismatched = {name: n for name, n in counts.items() if n != wanted.get(name, partitions)}
    log.info(
        "topics ready bootstrap=%s created=%s existing=%s partitions=%d",
        bootstrap,
        ",".join(created) or "-",
        ",".join(existing) or "-",
        partitions,
    )
    for name, count in mismatched.items():
        log.warning(
            "topic partition count differs topic=%s has=%d asked=%d", name, count, partitions
        )
    return TopicsResult(created=tuple(created), existing=tuple(existing), mismatched=mismatched)


def wait_for_topics(bootstrap: str, topics: Iterable[str], timeout_s: float = 30.0) -> None:
    """Block until every topic exists and each partition has a leader."""
    deadline = time.monotonic() + timeout_s
    with admin_client(bootstrap, timeout_s) as client:
        remaining_ms = max(int((deadline - time.monotonic()) * 1000), 100)
        try:
            client.wait_for_topics(list(topics), timeout_ms=remaining_ms)
        except kafka_errors.KafkaTimeoutError as err:
            raise TopicError(
                f"topics not ready at {bootstrap} after {timeout_s:.0f}s: {err}"
            ) from err


def delete_topics(bootstrap: str, topics: Iterable[str], timeout_s: float = 30.0) -> None:
    """Delete ``topics``; ones that do not exist are ignored."""
    names = list(topics)
    if not names:
        return
    with admin_client(bootstrap, timeout_s) as client:
        response = client.delete_topics(names, timeout_ms=int(timeout_s * 1000), raise_errors=False)
    for topic in response["topics"]:
        code = topic["error_code"]
        if code not in (0, kafka_errors.UnknownTopicOrPartitionError.errno):
            raise TopicError(
                f"could not delete {topic['name']}: {kafka_errors.for_code(code).__name__}"
            )
