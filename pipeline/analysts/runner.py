"""The analyst team on Kafka: reads alerts, scores and the simulated events, sends labels.

Reads ``fraud.alerts.v1`` (reviews), ``fraud.scores.v1`` (allowed scores: missed frauds)
and ``fraud.transactions.v1`` / ``fraud.logins.v1`` (the ground truth in their headers);
sends :class:`schemas.Feedback` to ``fraud.feedback.v1`` keyed by account id. A demo tool:
offsets are auto-committed and reviews waiting in memory are lost on a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable

from kafka import KafkaConsumer, KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError

from pipeline.analysts.config import AnalystsConfig
from pipeline.analysts.exceptions import AnalystsError
from pipeline.analysts.team import AnalystTeam
from pipeline.analysts.truth import truth_of
from pipeline.kafka.clients import group_consumer
from pipeline.kafka.exceptions import KafkaUnavailableError
from schemas import (
    DEFAULT_LIMITS,
    RECORD_BY_TOPIC,
    DecodeLimits,
    EventRecord,
    Feedback,
    InvalidRecordError,
    Record,
    Score,
    Topic,
    decode,
    encode,
)

log = logging.getLogger(__name__)

READS: dict[str, type[Record]] = {
    Topic.ALERTS.value: Score,  # an alert carries the Score of the alerted event
    **{t.value: RECORD_BY_TOPIC[t.value] for t in (Topic.SCORES, Topic.TRANSACTIONS, Topic.LOGINS)},
}


class AnalystsRunner:
    def __init__(
        self, config: AnalystsConfig, bootstrap: str, limits: DecodeLimits = DEFAULT_LIMITS
    ) -> None:
        self.config = config
        self.bootstrap = bootstrap
        self.limits = limits
        self.team = AnalystTeam(config)
        self.sent: Counter[str] = Counter()
        self._failed: list[BaseException] = []

    def _clients(self) -> tuple[KafkaConsumer, KafkaProducer]:
        cfg = self.config
        consumer = group_consumer(
            self.bootstrap,
            [*READS, Topic.FEEDBACK.value],
            AnalystsError,
            group_id=cfg.group_id,
            client_id=cfg.client_id,
            enable_auto_commit=True,
            auto_offset_reset=cfg.auto_offset_reset,
        )
        try:
            producer = KafkaProducer(
                bootstrap_servers=self.bootstrap,
                client_id=cfg.client_id,
                acks="all",
                enable_idempotence=True,
                linger_ms=5,
            )
        except KafkaError as err:
            consumer.close()
            raise KafkaUnavailableError(self.bootstrap, type(err).__name__) from err
        return consumer, producer

    def run(
        self,
        stop: threading.Event,
        ready: threading.Event | None = None,
        progress: Callable[[Counter[str]], None] | None = None,
    ) -> Counter[str]:
        """Work until ``stop``; ``ready`` is set once the team reads from its start offsets,
        ``progress`` gets the counters about once a second."""
        consumer, producer = self._clients()
        shown = 0.0
        try:
            consumer.subscribe(list(READS))
            while not stop.is_set():
                batches = consumer.poll(timeout_ms=self.config.poll_timeout_ms)
                now = time.monotonic()
                if ready is not None and not ready.is_set() and consumer.assignment():
                    for tp in consumer.assignment():
                        consumer.position(tp)  # resolves "latest" before anyone relies on it
                    ready.set()
                for records in batches.values():
                    for record in records:
                        self._read(record, now)
                for label in self.team.due(time.monotonic()):
                    self._send(producer, label)
                if self._failed:
                    raise AnalystsError(f"a label was not delivered: {self._failed[0]}")
                if progress is not None and now - shown >= 1.0:
                    progress(self.team.stats + self.sent)
                    shown = now
        finally:
            try:
                producer.flush(timeout=30)
            finally:
                producer.close(timeout=10)
                consumer.close()
        return self.team.stats + self.sent

    def _read(self, record: ConsumerRecord, now: float) -> None:
        record_type = READS[record.topic]
        try:
            value = decode(record_type, record.value, self.limits)
        except InvalidRecordError:
            self.team.stats["invalid"] += 1
            return
        if isinstance(value, Score):
            if record.topic == Topic.ALERTS.value:
                self.team.on_alert(value, now)
            else:
                self.team.on_score(value, now)
        elif isinstance(value, EventRecord):
            truth = truth_of(value, record.headers or [])
            if truth is not None:
                self.team.observe(truth, now)

    def _send(self, producer: KafkaProducer, label: Feedback) -> None:
        future = producer.send(
            Topic.FEEDBACK.value, key=label.account_id.encode(), value=encode(label)
        )
        future.add_errback(self._failed.append)
        self.sent[f"sent_{label.source.value}"] += 1
        log.debug(
            "label sent event_id=%s label=%s source=%s analyst=%s",
            label.event_id,
            label.label.value,
            label.source.value,
            label.analyst_id or "-",
        )
