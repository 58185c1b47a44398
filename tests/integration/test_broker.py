"""The local broker of infra/kafka for real: up, topics, messages, stop, restart, still there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.kafka import (
    JavaMissingError,
    LocalBroker,
    MavenMissingError,
    create_topics,
    describe_topics,
)
from pipeline.kafka.ports import free_port
from pipeline.settings import Settings
from schemas import ALL_TOPICS, Topic
from tests.integration.clients import produce, read_all

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def broker(kafka_settings: Settings, tmp_path: Path) -> Iterator[LocalBroker]:
    broker = LocalBroker(kafka_settings, port=free_port(), data_dir=tmp_path / "kafka")
    try:
        broker.ensure_jars()
    except (JavaMissingError, MavenMissingError) as err:
        pytest.skip(f"the local broker cannot run here: {err}")
    yield broker
    broker.stop(timeout=30)  # whichever broker runs on this data dir


def test_restart_on_the_same_data_dir_keeps_topics_and_messages(broker: LocalBroker) -> None:
    assert broker.format_if_new() is True
    broker.start()
    broker.wait_ready(timeout=120)
    status = broker.status()
    assert status.running and status.reachable

    first = create_topics(broker.bootstrap, partitions=4)
    assert set(first.created) == set(ALL_TOPICS) and not first.existing
    again = create_topics(broker.bootstrap, partitions=4)
    assert set(again.existing) == set(ALL_TOPICS) and not again.created
    assert not again.mismatched

    sent = [(f"acct-{i % 7}".encode(), f'{{"n": {i}}}'.encode()) for i in range(50)]
    produce(broker.bootstrap, Topic.TRANSACTIONS, sent)

    assert broker.stop(timeout=30) is True
    assert not broker.status(probe=False).running
    assert not broker.layout.run_file.exists()

    # a new object, as a later `kafka up` process would build, and on another port
    again_broker = LocalBroker(broker.settings, port=free_port(), data_dir=broker.data_dir)
    assert again_broker.format_if_new() is False  # same data dir: no second format
    again_broker.start()
    again_broker.wait_ready(timeout=120)

    expected = dict.fromkeys(ALL_TOPICS, 4) | {Topic.MODEL_UPDATES.value: 1}
    assert describe_topics(again_broker.bootstrap) == expected
    received = read_all(again_broker.bootstrap, Topic.TRANSACTIONS, expected=len(sent))
    assert sorted(received) == sorted(sent)


def test_ready_broker_answers_and_stops_cleanly(broker: LocalBroker) -> None:
    broker.up(timeout=120)
    assert broker.status().reachable is True
    assert broker.stop(timeout=30) is True
    assert broker.stop(timeout=30) is False  # second stop: nothing ran
