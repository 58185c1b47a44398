"""Send a batch's outputs as one Kafka record batch per partition.

Sending each Score through ``topic.send`` costs a Faust future, sensor calls and an
accumulator append per message; a micro-batch of Scores can instead be cut into one
``BatchBuilder`` per output partition and handed to the producer at once. Keys are
partitioned like the Java client (murmur2), so a Score lands where a keyed send would put it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from aiokafka.partitioner import DefaultPartitioner

_partition_of = DefaultPartitioner()


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

    async def send(self, topic: str, messages: Sequence[tuple[bytes | None, bytes]]) -> list[Any]:
        """Queue ``messages`` (key, value); returns the futures of their batches' delivery."""
        if not messages:
            return []
        aio = self._producer()
        partitions = await self._all_partitions(aio, topic)
        by_partition: dict[int, list[tuple[bytes | None, bytes]]] = {}
        for key, value in messages:
            p = _partition_of(key, partitions, partitions)
            by_partition.setdefault(p, []).append((key, value))
        futures: list[Any] = []
        for partition, items in by_partition.items():
            batch = aio.create_batch()
            for key, value in items:
                if batch.append(key=key, value=value, timestamp=None) is None:
                    batch.close()  # full: ship it, go on in a fresh one
                    futures.append(await aio.send_batch(batch, topic, partition=partition))
                    batch = aio.create_batch()
                    if batch.append(key=key, value=value, timestamp=None) is None:
                        raise ValueError(
                            f"a {len(value)}-byte message does not fit in an empty record "
                            f"batch of {topic}: raise the producer's max_batch_size"
                        )
            batch.close()
            futures.append(await aio.send_batch(batch, topic, partition=partition))
        return futures


async def delivered(futures: Sequence[Any]) -> None:
    """Wait until every batch is acknowledged (raises the first delivery error)."""
    if futures:
        await asyncio.gather(*futures)
