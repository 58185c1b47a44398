"""Every worker's read-only copy of the merchant risk table, kept from its changelog.

Each merchant's label statistics have one writer: the worker that owns the merchant's
partition of ``fraud.merchant-labels.v1`` (``apply_labels`` in the app). Every worker scores
transactions of every merchant, so each one follows the table's changelog, all partitions,
from the start, with a consumer of its own (no group): a compacted topic with one record per
labelled merchant. The copy keeps what a score reads (frauds, labels), parsed once as each
record arrives, not the labelled event ids that only the writer needs.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition

from models.features import MerchantRisk, risk_from_bytes

log = logging.getLogger(__name__)

#: how long the broker may hold an empty fetch: the most a label waits once written
FETCH_MAX_WAIT_MS = 100


class RiskMirror:
    """``get(merchant_id)`` → the merchant's label statistics as last written, or None."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.partitions = partitions
        self._items: dict[str, MerchantRisk] = {}
        #: set once the copy holds everything the changelog held when it started
        self.caught_up = asyncio.Event()
        self.records = 0

    def get(self, key: str, default: MerchantRisk | None = None) -> MerchantRisk | None:
        return self._items.get(key, default)

    def __len__(self) -> int:
        return len(self._items)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """One changelog record: a new value, or a deletion (no value)."""
        self.records += 1
        if key is None:
            return
        merchant = key.decode()
        if value is None:
            self._items.pop(merchant, None)
            return
        try:
            risk = risk_from_bytes(value)
            self._items[merchant] = MerchantRisk(frauds=risk.frauds, labels=risk.labels)
        except (ValueError, TypeError) as err:  # not written by this code: keep the old one
            log.error("merchant_risk_unreadable merchant=%s reason=%s", merchant, err)

    async def run(self) -> None:
        """Read the changelog from its start, then follow it until cancelled."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        )
        await consumer.start()
        try:
            # the table's partitions (the worker creates its changelog with them)
            tps = [TopicPartition(self.topic, p) for p in range(self.partitions)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            while True:
                if not self.caught_up.is_set() and await self._reached(consumer, ends):
                    log.info("merchant_risk_mirror_ready merchants=%d", len(self._items))
                    self.caught_up.set()
                fetched = await consumer.getmany(timeout_ms=500, max_records=10_000)
                for records in fetched.values():
                    for record in records:
                        self.apply(record.key, record.value)
        finally:
            await consumer.stop()

    @staticmethod
    async def _reached(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
        for tp, end in ends.items():
            if await consumer.position(tp) < end:
                return False
        return True
