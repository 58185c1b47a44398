"""Admin helpers that need no broker: address parsing and failing fast when none answers."""

from __future__ import annotations

import time

import pytest

from pipeline.kafka.admin import admin_client, bootstrap_hosts, cluster_ready, create_topics
from pipeline.kafka.exceptions import KafkaUnavailableError
from pipeline.kafka.ports import free_port


def test_bootstrap_hosts_parse_lists_and_default_port() -> None:
    assert bootstrap_hosts("a:1, b:2") == [("a", 1), ("b", 2)]
    assert bootstrap_hosts("kafka") == [("kafka", 9092)]
    assert bootstrap_hosts("[::1]:9093") == [("::1", 9093)]


@pytest.mark.parametrize("bad", ["", "host:port"])
def test_bad_bootstrap_is_a_clear_error(bad: str) -> None:
    with pytest.raises(KafkaUnavailableError, match="FRAUDSTREAM_KAFKA_BOOTSTRAP"):
        bootstrap_hosts(bad)


def test_no_broker_fails_fast_with_what_to_do() -> None:
    address = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(KafkaUnavailableError, match="fraudstream kafka up"):
        create_topics(address, timeout_s=30)
    with pytest.raises(KafkaUnavailableError), admin_client(address, timeout_s=30):
        pass
    assert not cluster_ready(address)
    assert time.monotonic() - started < 10  # refused at once, not after the 30 s timeouts
