"""Read a bench's topics back after the run: input timestamps by event, and every Score.

Reading happens after the worker finished, so the reader does not compete with the worker
for CPU while it is measured. Records go through the schemas codec, like any consumer's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from pipeline.bench.exceptions import BenchError
from pipeline.bench.report import ScoreSeen
from pipeline.worker.engine import EVENT_TYPES
from schemas import (
    DecodeLimits,
    InvalidRecordError,
    Score,
    Topic,
    decode,
)

log = logging.getLogger(__name__)

EVENT_TOPICS = (Topic.TRANSACTIONS.value, Topic.LOGINS.value)


def _consumer(bootstrap: str) -> KafkaConsumer:
    return KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed",  # exactly_once workers write in transactions
        client_id="fraudstream-bench",
    )


def _partitions(consumer: KafkaConsumer, topics: Iterable[str]) -> list[TopicPartition]:
    return [
        TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())
    ]


def end_offsets(bootstrap: str, topics: Iterable[str]) -> int:
    """Sum of the end offsets of ``topics`` (messages written, with no transactions)."""
    consumer = _consumer(bootstrap)
    try:
        tps = _partitions(consumer, topics)
        return sum(consumer.end_offsets(tps).values()) if tps else 0
    finally:
        consumer.close()


def read_all(bootstrap: str, topics: Iterable[str], timeout: float = 300.0) -> Iterator[Any]:
    """Every record of ``topics`` from the beginning to the end offsets taken at the start."""
    consumer = _consumer(bootstrap)
    try:
        tps = _partitions(consumer, topics)
        if not tps:
            return
        consumer.assign(tps)
        consumer.seek_to_beginning()
        end = consumer.end_offsets(tps)
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < end[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise BenchError(f"reading {', '.join(sorted({tp.topic for tp in tps}))} "
                                 f"back took over {timeout:.0f}s")  # fmt: skip
            for batch in consumer.poll(timeout_ms=500, max_records=50_000).values():
                yield from batch
    finally:
        consumer.close()


def input_timestamps(
    bootstrap: str, limits: DecodeLimits, on_invalid: Callable[[str], None] | None = None
) -> dict[str, float]:
    """event_id → Kafka timestamp (epoch seconds) of every valid event on the input topics."""
    out: dict[str, float] = {}
    for record in read_all(bootstrap, EVENT_TOPICS):
        try:
            event = decode(EVENT_TYPES[record.topic], record.value, limits)
        except InvalidRecordError as err:
            if on_invalid is not None:
                on_invalid(err.error_class)
            continue
        out.setdefault(event.event_id, record.timestamp / 1e3)
    return out


def read_scores(bootstrap: str) -> list[ScoreSeen]:
    scores = []
    for record in read_all(bootstrap, [Topic.SCORES.value]):
        score = decode(Score, record.value)
        scores.append(
            ScoreSeen(
                event_id=score.event_id,
                scored_at=score.scored_at.timestamp(),
                latency_ms=score.latency_ms,
                record_ts=record.timestamp / 1e3 if record.timestamp >= 0 else None,
            )
        )
    return scores
