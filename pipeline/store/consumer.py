"""The training store's Kafka loop: poll, hand messages to the core, flush, then commit.

Offsets are committed by hand (``enable_auto_commit=False``) and only after the flush that
made their rows durable returned them. On a rebalance the loop writes what it has, forgets
the halves still waiting for a join, and rewinds its partitions to the first message not
on disk, so nothing waiting in memory is skipped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from pipeline.kafka.clients import group_consumer
from pipeline.store.config import STORE_TOPICS, StoreConfig
from pipeline.store.core import FlushResult, Message, StoreCore
from pipeline.store.exceptions import StoreError
from schemas import DEFAULT_LIMITS, DecodeLimits

log = logging.getLogger(__name__)


class _RevocationFlag(ConsumerRebalanceListener):
    """Notes a revocation; the loop acts on it (the listener runs on the client's IO loop)."""

    def __init__(self) -> None:
        self.revoked = threading.Event()

    def on_partitions_revoked(self, revoked: object) -> None:
        if revoked:
            self.revoked.set()

    def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        log.info("store partitions assigned count=%d", len(assigned))


class StoreRunner:
    """Runs the store until ``stop`` is set; ``on_flush`` sees every flush (CLI, tests)."""

    def __init__(
        self,
        config: StoreConfig,
        bootstrap: str,
        limits: DecodeLimits = DEFAULT_LIMITS,
        on_flush: Callable[[FlushResult], None] | None = None,
    ) -> None:
        self.config = config
        self.bootstrap = bootstrap
        self.core = StoreCore(config, limits)
        self.on_flush = on_flush
        self.committed = 0

    def _connect(self) -> KafkaConsumer:
        cfg = self.config
        return group_consumer(
            self.bootstrap,
            STORE_TOPICS,
            StoreError,
            group_id=cfg.group_id,
            client_id=cfg.client_id,
            enable_auto_commit=False,
            auto_offset_reset=cfg.auto_offset_reset,
            max_poll_records=cfg.max_poll_records,
            session_timeout_ms=cfg.session_timeout_ms,
            heartbeat_interval_ms=max(cfg.session_timeout_ms // 3, 100),
        )

    def run(self, stop: threading.Event) -> Counter[str]:
        """Consume until ``stop``; returns the core's counters."""
        consumer = self._connect()
        core = self.core
        core.open(time.monotonic())
        flag = _RevocationFlag()
        try:
            consumer.subscribe(list(STORE_TOPICS), listener=flag)
            while not stop.is_set():
                batches = consumer.poll(
                    timeout_ms=self.config.poll_timeout_ms,
                    max_records=self.config.max_poll_records,
                )
                now = time.monotonic()
                if flag.revoked.is_set():
                    flag.revoked.clear()
                    self._rewind(consumer, now, batches)
                    continue
                for tp, records in batches.items():
                    for r in records:
                        core.handle(Message(tp.topic, tp.partition, r.offset, r.value), now)
                core.tick(now)
                if core.flush_due(now):
                    self._flush_and_commit(consumer, now)
            self._flush_and_commit(consumer, time.monotonic())
        finally:
            consumer.close(autocommit=False)
            core.close()
        return core.stats

    def _flush_and_commit(self, consumer: KafkaConsumer, now: float) -> None:
        result = self.core.flush(now)  # rows durable first ...
        assigned = consumer.assignment()
        offsets = {
            TopicPartition(t, p): OffsetAndMetadata(o, "", -1)
            for (t, p), o in result.offsets.items()
            if TopicPartition(t, p) in assigned
        }
        if offsets:
            try:
                consumer.commit(offsets)  # ... then acknowledged
            except KafkaError as err:
                # not fatal: the next flush commits again; a restart meanwhile re-reads and
                # the dedupe index drops what is already written
                log.warning("store commit failed error=%s offsets=%d", err, len(offsets))
            else:
                self.core.tracker.committed(
                    {(tp.topic, tp.partition): om.offset for tp, om in offsets.items()}
                )
                self.committed += len(offsets)
        if self.on_flush is not None:
            self.on_flush(result)

    def _rewind(
        self,
        consumer: KafkaConsumer,
        now: float,
        unread: Mapping[TopicPartition, Sequence[ConsumerRecord]],
    ) -> None:
        """After a revocation: write what is complete, forget what waits, and seek every
        partition back to its first message not on disk; ``unread`` (the batch polled with
        the news) is dropped and read again from there."""
        self._flush_and_commit(consumer, now)
        targets = {tp: records[0].offset for tp, records in unread.items() if records}
        for (topic, partition), offset in self.core.watermarks().items():
            targets[TopicPartition(topic, partition)] = offset
        self.core.forget_inflight()
        assigned = consumer.assignment()
        for tp, offset in targets.items():
            if tp in assigned:
                consumer.seek(tp, offset)
        log.info("store rewound after a rebalance partitions=%d", len(targets))
