"""Warm the bench's freshly started broker up before a live run measures latency.

A broker that has just started runs its request paths in the JVM's interpreter until the JIT
has compiled them. In a live run that showed as the stream's first 0.2–0.4 s acknowledged
several times slower than the rest (docs/BENCHMARKS.md), on a broker that a real
deployment would have had running for days. So before the worker starts, a live run sends
records through a topic of its own and reads them back, so that much of the produce and
fetch paths is compiled before the measured stream (not all of it: the JIT still works
during the stream's first 25 s), and no topic the worker reads sees a warm-up record.
A drain run needs none of this: loading its backlog is its warm-up.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from kafka import KafkaProducer
from kafka.errors import KafkaError

from pipeline.bench.exceptions import BenchError
from pipeline.bench.readback import read_all

WARMUP_TOPIC = "fraudstream.bench.warmup"
#: records sent by default: enough for the JIT to compile the request paths
WARMUP_RECORDS = 60_000
PAYLOAD_BYTES = 300  # about the size of an encoded event
CHUNK = 2_000  # records sent between flushes: the producer's buffer stays small


@dataclass(frozen=True, slots=True)
class Warmup:
    records: int  # sent, acknowledged and read back
    seconds: float


def warm_broker(
    bootstrap: str, records: int, topic: str = WARMUP_TOPIC, timeout_s: float = 120.0
) -> Warmup:
    """Produce ``records`` to ``topic`` (which must exist) the way the simulator does
    (idempotent, ``acks=all``) and read them all back; raise :class:`BenchError` if any is
    missing."""
    started = time.monotonic()
    try:
        producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            client_id="fraudstream-bench-warmup",
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            max_block_ms=int(timeout_s * 1000),
        )
    except KafkaError as err:
        raise BenchError(f"warm-up: no producer for {bootstrap}: {err}") from err
    payload = b"w" * PAYLOAD_BYTES
    try:
        for i in range(records):
            producer.send(topic, key=str(i % 1024).encode(), value=payload)
            if i % CHUNK == CHUNK - 1:
                producer.flush(timeout=timeout_s)
        producer.flush(timeout=timeout_s)
    except KafkaError as err:
        raise BenchError(f"warm-up: sending to {topic} failed: {err}") from err
    finally:
        producer.close(timeout=10)
    read = sum(1 for _ in read_all(bootstrap, [topic], timeout=timeout_s))
    if read != records:
        raise BenchError(f"warm-up: {read:,} of {records:,} records read back from {topic}")
    return Warmup(records=read, seconds=time.monotonic() - started)
