"""Sends the simulated stream to Kafka with an idempotent kafka-python producer.

Delivery is checked, not assumed: every send gets a callback, ``close`` flushes and raises
:class:`SinkError` if any message failed. ``rate`` paces the valid events (events per
second); without it the producer goes as fast as the broker acknowledges. The number of
messages in flight is bounded so memory stays flat on long runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError

from pipeline.kafka.exceptions import KafkaUnavailableError
from pipeline.simulator.config import KAFKA_LINGER_MS
from pipeline.simulator.exceptions import SinkError
from pipeline.simulator.generator import DayOutput
from pipeline.simulator.messages import Message, MessageStream
from schemas import Feedback, Login, Transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class KafkaSinkConfig:
    bootstrap: str
    #: valid events per second; None: as fast as possible
    rate: float | None = None
    linger_ms: int = KAFKA_LINGER_MS
    batch_size: int = 256 * 1024
    compression_type: str | None = None
    #: flush when this many messages await their acknowledgement
    max_in_flight: int = 20_000
    connect_timeout_s: float = 10.0
    flush_timeout_s: float = 120.0
    client_id: str = "fraudstream-simulator"
    #: record topic -> topic to send to (tests use unique topics)
    topics: Mapping[str, str] = field(default_factory=dict)


class KafkaSink:
    """A :class:`~pipeline.simulator.sinks.Sink` that produces the stream's messages."""

    def __init__(
        self,
        config: KafkaSinkConfig,
        stream: MessageStream,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.config = config
        self.stream = stream
        self.progress = progress
        self.sent: Counter[str] = Counter()
        self.sent_by_topic: Counter[str] = Counter()
        self.delivered: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.first_error: BaseException | None = None
        self._lock = threading.Lock()
        self._events = 0
        self._sent_total = 0
        self._started = 0.0
        self._producer = self._connect()

    def _connect(self) -> KafkaProducer:
        cfg = self.config
        servers = [s.strip() for s in cfg.bootstrap.split(",") if s.strip()]
        try:
            producer = KafkaProducer(
                bootstrap_servers=servers,
                client_id=cfg.client_id,
                enable_idempotence=True,
                acks="all",
                linger_ms=cfg.linger_ms,
                batch_size=cfg.batch_size,
                compression_type=cfg.compression_type,
                max_block_ms=int(cfg.connect_timeout_s * 1000),
                bootstrap_timeout_ms=int(cfg.connect_timeout_s * 1000),
            )
        except KafkaError as err:
            raise KafkaUnavailableError(cfg.bootstrap, type(err).__name__) from err
        for topic in self._topics():
            try:
                producer.partitions_for(topic)
            except KafkaTimeoutError as err:
                producer.close(timeout=5)
                raise SinkError(
                    f"topic {topic} does not exist on {cfg.bootstrap}; create the topics with "
                    "`fraudstream topics create`"
                ) from err
        return producer

    def _topics(self) -> list[str]:
        return [self.config.topics.get(r.topic, r.topic) for r in (Transaction, Login, Feedback)]

    # -- sending ---------------------------------------------------------------------------

    def write(self, out: DayOutput) -> None:
        if not self._started:
            self._started = time.perf_counter()
        for message in self.stream.day(out):
            self.send(message)

    def send(self, message: Message) -> None:
        if message.kind == "event":
            self._pace()
        topic = self.config.topics.get(message.topic, message.topic)
        try:
            future = self._producer.send(
                topic, value=message.value, key=message.key, headers=message.headers
            )
        except KafkaError as err:
            raise SinkError(f"could not send to {topic}: {err}") from err
        self.sent[message.kind] += 1
        self.sent_by_topic[topic] += 1
        future.add_callback(self._ok, message.kind)
        future.add_errback(self._failed, message.kind, topic)
        self._sent_total += 1
        if (
            self._sent_total % 1000 == 0
            and self._sent_total - self._done() >= self.config.max_in_flight
        ):
            self._flush()
        if self.first_error is not None:
            raise SinkError(f"delivery failed: {self.first_error}") from self.first_error
        if message.kind == "event":
            self._events += 1
            if self.progress is not None and self._events % 1000 == 0:
                self.progress(1000)

    def _pace(self) -> None:
        rate = self.config.rate
        if not rate:
            return
        ahead = self._events / rate - (time.perf_counter() - self._started)
        if ahead > 0.005:
            time.sleep(ahead)

    def _ok(self, kind: str, _metadata: object) -> None:
        with self._lock:
            self.delivered[kind] += 1

    def _failed(self, kind: str, topic: str, error: BaseException) -> None:
        with self._lock:
            self.failed[kind] += 1
            if self.first_error is None:
                self.first_error = error
        logger.error("delivery failed topic=%s kind=%s error=%s", topic, kind, error)

    def _done(self) -> int:
        with self._lock:
            return sum(self.delivered.values()) + sum(self.failed.values())

    def _flush(self) -> None:
        try:
            self._producer.flush(timeout=self.config.flush_timeout_s)
        except KafkaTimeoutError as err:
            raise SinkError(
                f"Kafka did not acknowledge {sum(self.sent.values()) - self._done()} messages "
                f"within {self.config.flush_timeout_s:.0f} s"
            ) from err

    def close(self) -> None:
        """Flush, close, and raise unless every message was acknowledged."""
        try:
            self._flush()
        finally:
            self._producer.close(timeout=10)
        if self.progress is not None and self._events % 1000:
            self.progress(self._events % 1000)
        if self.first_error is not None or self.failed:
            raise SinkError(
                f"{sum(self.failed.values())} of {sum(self.sent.values())} messages were not "
                f"delivered: {self.first_error}"
            ) from self.first_error
        missing = sum(self.sent.values()) - sum(self.delivered.values())
        if missing:
            raise SinkError(f"{missing} messages were sent but never acknowledged")
