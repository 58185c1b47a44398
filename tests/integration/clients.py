"""Plain kafka-python producer/consumer helpers shared by integration tests."""

from __future__ import annotations

from collections.abc import Iterable

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from tests.integration.polling import poll_until


def produce(bootstrap: str, topic: str, messages: Iterable[tuple[bytes, bytes]]) -> int:
    """Send ``(key, value)`` pairs with acks=all and wait for every ack; returns the count."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        futures = [producer.send(topic, key=key, value=value) for key, value in messages]
        producer.flush(timeout=30)
        for future in futures:
            future.get(timeout=30)
    finally:
        producer.close(timeout=10)
    return len(futures)


def read_all(
    bootstrap: str, topic: str, expected: int, timeout: float = 30.0
) -> list[tuple[bytes, bytes]]:
    """Read ``topic`` from the beginning of every partition until ``expected`` records arrived."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    try:
        partitions = poll_until(
            lambda: consumer.partitions_for_topic(topic),
            timeout=timeout,
            message=f"partitions of {topic}",
        )
        consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
        consumer.seek_to_beginning()
        records: list[tuple[bytes, bytes]] = []

        def collected() -> bool:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend((r.key, r.value) for r in batch)
            return len(records) >= expected

        poll_until(collected, timeout=timeout, interval=0, message=f"{expected} records on {topic}")
        return records
    finally:
        consumer.close()
