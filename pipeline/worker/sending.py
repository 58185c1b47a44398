"""Send a batch's outputs as one Kafka record batch per partition.

Sending each Score through ``topic.send`` costs a Faust future, sensor calls and an
accumulator append per message; a micro-batch of Scores can instead be cut into one
``BatchBuilder`` per output partition and handed to the producer at once. Keys are
partitioned like the Java client (murmur2), so a Score lands where a keyed send would put it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import codec
from aiokafka.partitioner import DefaultPartitioner

from pipeline.worker.exceptions import WorkerConfigError

_partition_of = DefaultPartitioner()

_CODECS: dict[str, Callable[[], bool]] = {
    "gzip": codec.has_gzip,
    "snappy": codec.has_snappy,
    "lz4": codec.has_lz4,
    "zstd": codec.has_zstd,
}


def compression_type(name: str) -> str | None:
    """The producer's ``compression_type`` for the setting ``name`` (``none``: ``None``).

    Refused here, in one line, when the codec's library is missing: aiokafka would raise
    only when Faust builds its producer, as a traceback from inside the worker's start.
    """
    if name == "none":
        return None
    available = _CODECS.get(name)
    if available is None:
        raise WorkerConfigError(
            f"FRAUDSTREAM_PRODUCER_COMPRESSION={name} is not a codec; choose one of "
            f"{', '.join([*_CODECS, 'none'])}"
        )
    if not available():
        raise WorkerConfigError(
            f"FRAUDSTREAM_PRODUCER_COMPRESSION={name}: its library (cramjam) is not installed; "
            "reinstall fraudstream's dependencies (`make install`) or set it to none"
        )
    return name


@dataclass(frozen=True, slots=True)
class Sent:
    """One record batch handed to the producer: its delivery future and what it holds."""

    future: Any  # resolves to the RecordMetadata of the batch's first record
    topic: str
    partition: int
    count: int

    def last_offset(self) -> int:
        """Offset of the batch's last record (once delivered)."""
        return int(self.future.result().offset) + self.count - 1


class BatchSender:
    """Keyed messages → one record batch per (topic, partition) on an aiokafka producer."""

    def __init__(self, producer: Callable[[], Any]) -> None:
        self._producer = producer  # resolved per call: Faust starts its producer late
        self._partitions: dict[str, list[int]] = {}

    async def _all_partitions(self, aio: Any, topic: str) -> list[int]:
        known = self._partitions.get(topic)
        if known is None:
            known = sorted(await aio.partitions_for(topic))
            self._partitions[topic] = known
        return known

    async def prepare(self, topics: Sequence[str]) -> None:
        """Learn the partitions of ``topics`` now rather than on the first batch's send."""
        aio = self._producer()
        for topic in topics:
            await self._all_partitions(aio, topic)

    async def send(self, topic: str, messages: Sequence[tuple[bytes | None, bytes]]) -> list[Sent]:
        """Queue ``messages`` (key, value), partitioned by key; returns the batches."""
        if not messages:
            return []
        aio = self._producer()
        partitions = await self._all_partitions(aio, topic)
        by_partition: dict[int, list[tuple[bytes | None, bytes]]] = {}
        for key, value in messages:
            p = _partition_of(key, partitions, partitions)
            by_partition.setdefault(p, []).append((key, value))
        return await self.send_partitioned(topic, by_partition)

    async def send_partitioned(
        self, topic: str, by_partition: Mapping[int, Sequence[tuple[bytes | None, bytes]]]
    ) -> list[Sent]:
        """Queue each partition's messages in as few record batches as fit."""
        aio = self._producer()
        sent: list[Sent] = []
        for p, items in by_partition.items():
            if not items:
                continue
            batch, count = aio.create_batch(), 0
            for key, value in items:
                if batch.append(key=key, value=value, timestamp=None) is None:
                    if count == 0:
                        raise _too_big(value, topic)
                    batch.close()  # full: ship it, go on in a fresh one
                    future = await aio.send_batch(batch, topic, partition=p)
                    sent.append(Sent(future, topic, p, count))
                    batch, count = aio.create_batch(), 0
                    if batch.append(key=key, value=value, timestamp=None) is None:
                        raise _too_big(value, topic)
                count += 1
            batch.close()
            sent.append(Sent(await aio.send_batch(batch, topic, partition=p), topic, p, count))
        return sent


def _too_big(value: bytes, topic: str) -> ValueError:
    return ValueError(
        f"a {len(value)}-byte message does not fit in an empty record batch of {topic}: "
        "raise the producer's max_batch_size"
    )


async def delivered(sent: Sequence[Sent]) -> None:
    """Wait until every batch is acknowledged (raises the first delivery error)."""
    if sent:
        await asyncio.gather(*(s.future for s in sent))
