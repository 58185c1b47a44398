"""The session fixtures themselves: the broker answers, topics are unique and usable."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pipeline.kafka import cluster_ready, describe_topics
from tests.integration.clients import produce, read_all

pytestmark = pytest.mark.integration


def test_session_broker_answers(kafka_bootstrap: str) -> None:
    assert cluster_ready(kafka_bootstrap)


def test_unique_topics_are_distinct_and_carry_messages(
    kafka_bootstrap: str, unique_topic: Callable[..., str]
) -> None:
    a, b = unique_topic("a", partitions=3), unique_topic("b")
    assert a != b
    assert describe_topics(kafka_bootstrap, [a, b]) == {a: 3, b: 1}
    produce(kafka_bootstrap, a, [(b"k", b"v1"), (b"k", b"v2")])
    assert [v for _, v in read_all(kafka_bootstrap, a, expected=2)] == [b"v1", b"v2"]
