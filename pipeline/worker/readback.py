"""What a previous run of the group already sent for the events that now come back.

At least once means a killed worker's uncommitted events are consumed again. The state
tells which of them were fully processed (their Score was acknowledged, then the state
recorded them), but not the last window: Scores the broker appended while the worker died
before it read the acknowledgement. Redelivered, those events would get a second Score.

So when partitions are assigned, before any of their events is processed, the worker reads
its own outputs back: for every assigned input partition with uncommitted records
(committed offset < end offset), the *suspect* range is ``[committed, end)``; no Score of
an event outside it can exist (later records were never consumed). Every Score, alert and
dead letter sent since the oldest suspect record was produced (less a clock margin) is read
by key: Scores by ``event_id``, dead letters by their source coordinates. An event of a
suspect range whose Score is there gets its state applied and no second Score; if its
decision was alerted and the alert did not make it (Scores and alerts are separate
batches), the alert is sent then, from the Score that did. Outside the suspect ranges
nothing is looked up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson
from kafka import KafkaConsumer, TopicPartition

from pipeline.kafka.admin import admin_client
from schemas import Decision, Topic

if TYPE_CHECKING:
    from pipeline.worker.engine import Incoming

log = logging.getLogger(__name__)

#: Score/alert/dead-letter timestamps are the worker's clock, input timestamps the
#: producer's: read outputs from this long before the oldest suspect input
DEFAULT_MARGIN_S = 30.0
#: a Score older than this cannot belong to the run that died (a worker restarts within
#: minutes): a lagging group's oldest uncommitted input may be hours old, its Scores not
DEFAULT_LOOKBACK_S = 900.0
#: what the scoring agent sends (changelogs aside)
OUTPUT_TOPICS = (Topic.SCORES.value, Topic.ALERTS.value, Topic.DEADLETTER.value)
#: stop reading back after this many output records (a very long outage): a warning, and
#: the events past it are scored again (at least once still holds)
DEFAULT_MAX_RECORDS = 2_000_000


def dead_letter_key(topic: str, partition: int, offset: int) -> bytes:
    """A dead letter's key: the coordinates of the message it keeps."""
    return f"{topic}/{partition}@{offset}".encode()


@dataclass
class Emitted:
    """Outputs already on the broker for events of the suspect ranges."""

    #: (topic, partition) -> end offset at assignment: offsets below it may be redelivered
    until: dict[tuple[str, int], int] = field(default_factory=dict)
    scores: set[str] = field(default_factory=set)
    dead_letters: set[bytes] = field(default_factory=set)
    #: event id -> Score value of an alerted decision whose alert is not on the alerts topic
    #: (sent again only for an event that comes back: another live worker's alert may just
    #: not have landed yet)
    missing_alerts: dict[str, bytes] = field(default_factory=dict)
    records_read: int = 0
    seconds: float = 0.0

    def _suspect(self, msg: Incoming) -> bool:
        end = self.until.get((msg.topic, msg.partition))
        return end is not None and msg.offset < end

    def scored(self, msg: Incoming, event_id: str) -> bool:
        """Whether this event already has a Score from before the restart."""
        return event_id in self.scores and self._suspect(msg)

    def dead_lettered(self, msg: Incoming) -> bool:
        """Whether this message is already on the dead-letter topic."""
        return (
            self._suspect(msg)
            and dead_letter_key(msg.topic, msg.partition, msg.offset) in self.dead_letters
        )

    def alerts_for(self, event_ids: Iterable[str]) -> list[tuple[bytes, bytes]]:
        """(key, value) of the alerts to send again for these redelivered, scored events."""
        return [(i.encode(), self.missing_alerts[i]) for i in event_ids if i in self.missing_alerts]

    def passed(self, batch: Iterable[Incoming]) -> None:
        """Forget partitions whose suspect range the worker has gone past."""
        if not self.until:
            return
        for msg in batch:
            end = self.until.get((msg.topic, msg.partition))
            if end is not None and msg.offset + 1 >= end:
                del self.until[(msg.topic, msg.partition)]
        if not self.until:
            self.scores.clear()
            self.dead_letters.clear()
            self.missing_alerts.clear()


def read_back(
    bootstrap: str,
    group: str,
    assigned: Sequence[tuple[str, int]],
    *,
    margin_s: float = DEFAULT_MARGIN_S,
    lookback_s: float = DEFAULT_LOOKBACK_S,
    max_records: int = DEFAULT_MAX_RECORDS,
    timeout_s: float = 60.0,
) -> Emitted:
    """Outputs already sent for the uncommitted records of ``assigned`` (blocking)."""
    t0 = time.perf_counter()
    tps = [TopicPartition(t, p) for t, p in assigned]
    emitted = Emitted()
    if not tps:
        return emitted
    with admin_client(bootstrap) as admin:
        committed = admin.list_group_offsets({group: tps}).get(group, {})
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id=f"{group}-readback",
    )
    try:
        ends = consumer.end_offsets(tps)
        begins = consumer.beginning_offsets(tps)
        starts: dict[TopicPartition, int] = {}
        for tp in tps:
            meta = committed.get(tp)
            start = meta.offset if meta is not None and meta.offset >= 0 else begins[tp]
            if start < ends[tp]:
                starts[tp] = start
                emitted.until[(tp.topic, tp.partition)] = ends[tp]
        if not starts:
            return emitted
        first = _first_timestamps(consumer, starts, ends, timeout_s)
        for tp in set(starts) - set(first):  # nothing but transaction markers left
            del emitted.until[(tp.topic, tp.partition)]
        if not first:
            return emitted
        since_ms = read_from_ms(min(first.values()), time.time(), margin_s, lookback_s)
        outputs = [
            TopicPartition(topic, p)
            for topic in OUTPUT_TOPICS
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        alerted: dict[bytes, bytes] = {}
        alerts: set[bytes] = set()
        for record in _read_since(consumer, outputs, since_ms, max_records, timeout_s, group):
            emitted.records_read += 1
            if record.key is None:
                continue
            if record.topic == Topic.SCORES.value:
                emitted.scores.add(record.key.decode())
                if orjson.loads(record.value).get("decision") != Decision.ALLOW.value:
                    alerted[record.key] = record.value
            elif record.topic == Topic.ALERTS.value:
                alerts.add(record.key)
            else:
                emitted.dead_letters.add(record.key)
        emitted.missing_alerts = {k.decode(): v for k, v in alerted.items() if k not in alerts}
    finally:
        consumer.close(autocommit=False)
        emitted.seconds = time.perf_counter() - t0
    return emitted


def read_from_ms(oldest_input_ms: int, now_s: float, margin_s: float, lookback_s: float) -> int:
    """Where the read-back starts (epoch ms): at the oldest uncommitted input less the clock
    margin, but no earlier than ``lookback_s`` ago."""
    return int(max(oldest_input_ms - margin_s * 1000, (now_s - lookback_s) * 1000))


def _first_timestamps(
    consumer: KafkaConsumer,
    starts: dict[TopicPartition, int],
    ends: dict[TopicPartition, int],
    timeout_s: float,
) -> dict[TopicPartition, int]:
    """The timestamp (ms) of the first record at or after each start offset."""
    consumer.assign(list(starts))
    for tp, offset in starts.items():
        consumer.seek(tp, offset)
    found: dict[TopicPartition, int] = {}
    waiting = set(starts)
    deadline = time.monotonic() + timeout_s
    while waiting:
        if time.monotonic() > deadline:
            raise TimeoutError(f"read-back: no record at the committed offsets of {waiting}")
        for tp, records in consumer.poll(timeout_ms=500, max_records=500).items():
            if records and tp in waiting:
                found[tp] = records[0].timestamp
        waiting = {tp for tp in waiting if tp not in found and consumer.position(tp) < ends[tp]}
        for tp in set(starts) - waiting:
            consumer.pause(tp)
    return found


def _read_since(
    consumer: KafkaConsumer,
    tps: list[TopicPartition],
    since_ms: int,
    max_records: int,
    timeout_s: float,
    group: str,
) -> Iterable:
    """Every record of ``tps`` from ``since_ms`` to the end offsets of now."""
    consumer.assign(tps)
    ends = consumer.end_offsets(tps)
    positions = consumer.offsets_for_times({tp: since_ms for tp in tps})
    left: dict[TopicPartition, int] = {}
    for tp in tps:
        found = positions.get(tp)
        if found is not None and found.offset < ends[tp]:
            consumer.seek(tp, found.offset)
            left[tp] = ends[tp]
        else:
            consumer.pause(tp)
    read = 0
    deadline = time.monotonic() + timeout_s
    while left:
        if time.monotonic() > deadline:
            raise TimeoutError(f"read-back: no progress reading outputs for {timeout_s:.0f} s")
        for tp, records in consumer.poll(timeout_ms=500, max_records=5000).items():
            end = left.get(tp)
            if end is None:
                continue
            deadline = time.monotonic() + timeout_s
            for record in records:
                if record.offset >= end:
                    break
                read += 1
                yield record
        # by position, not by the last record: transaction markers take offsets too
        for tp in [tp for tp, end in left.items() if consumer.position(tp) >= end]:
            del left[tp]
            consumer.pause(tp)
        if read >= max_records and left:
            log.warning(
                "readback_truncated group=%s records=%d: outputs past this point are not "
                "looked up; their events may be scored a second time",
                group, read,
            )  # fmt: skip
            return
