"""The live bench's broker warm-up on a real broker: every record sent comes back, on the
warm-up topic only."""

from __future__ import annotations

import pytest

from pipeline.bench.exceptions import BenchError
from pipeline.bench.readback import end_offsets
from pipeline.bench.warmup import warm_broker
from tests.integration.conftest import TopicFactory

pytestmark = pytest.mark.integration


def test_every_warmup_record_is_acknowledged_and_read_back(
    kafka_bootstrap: str, unique_topic: TopicFactory
) -> None:
    topic, other = unique_topic("warmup", partitions=3), unique_topic("untouched")
    warmup = warm_broker(kafka_bootstrap, 2_500, topic=topic)
    assert warmup.records == 2_500 and warmup.seconds > 0
    assert end_offsets(kafka_bootstrap, [topic]) == 2_500
    assert end_offsets(kafka_bootstrap, [other]) == 0


def test_a_missing_topic_stops_the_warmup_with_a_clear_error(
    kafka_bootstrap: str, unique_topic: TopicFactory
) -> None:
    topic = unique_topic("warmup") + ".absent"  # never created
    with pytest.raises(BenchError, match="warm-up"):
        warm_broker(kafka_bootstrap, 10, topic=topic, timeout_s=3)
