"""The training store without Kafka: messages in, deduplicated Parquet rows out.

:class:`StoreCore` is fed consumed messages with their coordinates and decides, for each,
what becomes a row; :meth:`StoreCore.flush` writes the rows and only then returns the
offsets that may be committed. The Kafka loop around it (``pipeline.store.consumer``)
commits exactly those, so a crash at any point loses nothing that was acknowledged: what
was not committed is delivered again and the dedupe index drops what was already written.
"""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from pipeline.store import compact, promote
from pipeline.store.columns import (
    FEEDBACK_KEY,
    day_of,
    epoch_us,
    event_row,
    feedback_key,
    feedback_row,
)
from pipeline.store.config import STORE_TOPICS, StoreConfig
from pipeline.store.dedupe import SeenIndex
from pipeline.store.files import (
    EVENTS,
    FEEDBACK,
    HELD,
    DirectoryLock,
    day_dir,
    drop_days_before,
    part_files,
    remove_temps,
)
from pipeline.store.join import Coord, Joined, Joiner
from pipeline.store.offsets import OffsetTracker, TopicPartitionKey
from pipeline.store.sampling import keep_event
from pipeline.store.writer import SORT_COLUMNS, RowBuffer, Written
from schemas import (
    DEFAULT_LIMITS,
    RECORD_BY_TOPIC,
    DecodeLimits,
    EventRecord,
    Feedback,
    InvalidRecordError,
    Record,
    Score,
    decode,
)

log = logging.getLogger(__name__)

RECORD_BY_STORE_TOPIC: dict[str, type[Record]] = {t: RECORD_BY_TOPIC[t] for t in STORE_TOPICS}
#: event ids of recent labels, so an event labelled before it is written is kept
MAX_LABELLED = 100_000


@dataclass(frozen=True, slots=True)
class Message:
    """One consumed message and its coordinates."""

    topic: str
    partition: int
    offset: int
    value: bytes | None


@dataclass
class FlushResult:
    written: Written
    #: offsets that may now be committed: (topic, partition) -> next offset to read
    offsets: dict[TopicPartitionKey, int] = field(default_factory=dict)
    promoted: int = 0
    compacted: int = 0


def _column_values(folder: Path, columns: list[str]) -> pl.DataFrame | None:
    files = part_files(folder)
    if not files:
        return None
    frames = [pl.read_parquet(f, columns=columns) for f in files]
    return pl.concat(frames) if len(frames) > 1 else frames[0]


class StoreCore:
    def __init__(self, config: StoreConfig, limits: DecodeLimits = DEFAULT_LIMITS) -> None:
        self.config = config
        self.root = config.directory
        self.limits = limits
        self.joiner = Joiner(config.join_timeout_s, config.max_pending)
        self.tracker = OffsetTracker()
        self.buffer = RowBuffer(self.root)
        self.kept = SeenIndex(lambda d: self._event_ids(EVENTS, d), config.index_days)
        self.held = SeenIndex(lambda d: self._event_ids(HELD, d), config.index_days)
        self.labels = SeenIndex(self._feedback_keys, config.index_days)
        self.stats: Counter[str] = Counter()
        self._labelled: OrderedDict[str, None] = OrderedDict()
        self._to_promote: set[str] = set()
        self._lock = DirectoryLock(self.root)
        self._last_flush = 0.0
        self._last_promote = 0.0
        self._latest_day: date | None = None
        self._pruned_for: date | None = None
        #: whether events may be held (sampling now, or held rows from an earlier run)
        self._holding = config.sample_rate < 1.0

    # -- life cycle ------------------------------------------------------------------------

    def open(self, now: float) -> None:
        """Lock the directory, clear what a crash left half-done, find pending promotions."""
        self._lock.acquire()
        removed = remove_temps(self.root)
        journals = compact.recover(self.root)
        self._holding = self._holding or (self.root / HELD).is_dir()
        if self._holding:
            self._to_promote = promote.labelled_ids(self.root)
        self._last_flush = now
        self._last_promote = now - self.config.promote_seconds
        log.info(
            "store opened dir=%s temps_removed=%d journals=%d promotion_candidates=%d",
            self.root,
            removed,
            journals,
            len(self._to_promote),
        )

    def close(self) -> None:
        self._lock.release()

    # -- messages --------------------------------------------------------------------------

    def handle(self, msg: Message, now: float) -> None:
        coord: Coord = (msg.topic, msg.partition, msg.offset)
        self.tracker.consumed((msg.topic, msg.partition), msg.offset)
        record_type = RECORD_BY_STORE_TOPIC.get(msg.topic)
        if record_type is None:
            self._done([coord])
            return
        try:
            record = decode(record_type, msg.value, self.limits)
        except InvalidRecordError as err:
            # the worker dead-letters it; the store only skips it
            self.stats["invalid"] += 1
            log.debug(
                "invalid message skipped topic=%s partition=%d offset=%d reason=%s",
                msg.topic,
                msg.partition,
                msg.offset,
                err.reason,
            )
            self._done([coord])
            return
        if isinstance(record, Score):
            self._score(record, coord, now)
        elif isinstance(record, Feedback):
            self._feedback(record, coord)
        elif isinstance(record, EventRecord):
            self._event(record, coord, now)
        self._settle(now)

    def _stored(self, day: date, event_id: str) -> bool:
        return self.kept.contains(day, event_id) or self.held.contains(day, event_id)

    def _event(self, record: EventRecord, coord: Coord, now: float) -> None:
        self.stats["events_in"] += 1
        if self.joiner.waiting_event(record.event_id) or self._stored(
            day_of(record.ts), record.event_id
        ):
            self.stats["duplicate_events"] += 1
            self._done([coord])
            return
        self.joiner.offer_event(record, coord, now)

    def _score(self, score: Score, coord: Coord, now: float) -> None:
        self.stats["scores_in"] += 1
        if score.event_ts is not None and self._stored(day_of(score.event_ts), score.event_id):
            # the event is written already, with the first score or none: the row stays
            self.stats["scores_after_write"] += 1
            self._done([coord])
            return
        if self.joiner.waiting_score(score.event_id):
            self.stats["duplicate_scores"] += 1
            self._done([coord])
            return
        self.joiner.offer_score(score, coord, now)

    def _feedback(self, record: Feedback, coord: Coord) -> None:
        self.stats["feedback_in"] += 1
        day = day_of(record.ts)
        key = feedback_key(
            record.event_id, record.source.value, record.label.value, epoch_us(record.ts)
        )
        if self.labels.contains(day, key):
            self.stats["duplicate_feedback"] += 1
            self._done([coord])
            return
        self.labels.add(day, key)
        self.buffer.add(FEEDBACK, day, feedback_row(record), [coord])
        self._labelled[record.event_id] = None
        self._labelled.move_to_end(record.event_id)
        if len(self._labelled) > MAX_LABELLED:
            self._labelled.popitem(last=False)
        if self._holding:
            self._to_promote.add(record.event_id)

    def _settle(self, now: float) -> None:
        drained = self.joiner.drain(now)
        self._done(drained.dropped)
        for joined in drained.rows:
            self._place(joined)

    def _place(self, joined: Joined) -> None:
        record = joined.record
        day = day_of(record.ts)
        if self._stored(day, record.event_id):
            self.stats["duplicate_events"] += 1
            self._done(joined.coords)
            return
        labelled = record.event_id in self._labelled
        keep = keep_event(record.event_id, joined.score, labelled, self.config.sample_rate)
        dataset, index = (EVENTS, self.kept) if keep else (HELD, self.held)
        index.add(day, record.event_id)
        self.buffer.add(dataset, day, event_row(record, joined.score), joined.coords)
        self.stats["scored" if joined.score is not None else "unscored"] += 1
        if self._latest_day is None or day > self._latest_day:
            self._latest_day = day

    def _done(self, coords: Iterable[Coord]) -> None:
        for topic, partition, offset in coords:
            self.tracker.done((topic, partition), offset)

    # -- writing ---------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Release the halves that waited too long (call after every poll)."""
        self._settle(now)

    def flush_due(self, now: float) -> bool:
        return (
            self.buffer.size >= self.config.flush_records
            or now - self._last_flush >= self.config.flush_seconds
        )

    def flush(self, now: float) -> FlushResult:
        """Write what is buffered, then return the offsets that are safe to commit."""
        self._settle(now)
        promoted = 0
        if self._to_promote and now - self._last_promote >= self.config.promote_seconds:
            promoted = self._promote()
            self._last_promote = now
        written = self.buffer.flush()
        self._done(written.coords)
        compacted = sum(self._compact(dataset, day) for dataset, day in written.folders)
        self._prune_held()
        for index in (self.kept, self.held, self.labels):
            index.trim()
        self._last_flush = now
        for dataset, rows in written.rows.items():
            self.stats[f"rows_{dataset}"] += rows
        self.stats["promoted"] += promoted
        self.stats["files"] += len(written.files)
        if written.files:
            log.info(
                "store flush files=%d events=%d held=%d feedback=%d promoted=%d "
                "waiting=%d pending_offsets=%d",
                len(written.files),
                written.rows[EVENTS],
                written.rows[HELD],
                written.rows[FEEDBACK],
                promoted,
                len(self.joiner),
                self.tracker.pending(),
            )
        return FlushResult(written, self.tracker.committable(), promoted, compacted)

    def _promote(self) -> int:
        """Move the held rows of newly labelled events into ``events``."""
        ids, self._to_promote = self._to_promote, set()
        found = promote.held_rows(self.root, ids)
        if found is None:
            return 0
        promoted = 0
        for row in found.iter_rows(named=True):
            day = day_of(row["ts"])
            if self.kept.contains(day, row["event_id"]):
                continue
            self.kept.add(day, row["event_id"])
            self.buffer.add(EVENTS, day, row, [])
            promoted += 1
        return promoted

    def _compact(self, dataset: str, day: date) -> int:
        key = FEEDBACK_KEY if dataset == FEEDBACK else ("event_id",)
        return compact.compact_day(
            day_dir(self.root, dataset, day),
            key,
            SORT_COLUMNS,
            self.config.compact_files,
            self.config.compact_max_bytes,
        )

    def _prune_held(self) -> None:
        latest = self._latest_day
        if latest is None or latest == self._pruned_for or not (self.root / HELD).is_dir():
            return
        dropped = drop_days_before(self.root, HELD, latest - timedelta(days=self.config.hold_days))
        self._pruned_for = latest
        if dropped:
            log.info("held days dropped first=%s last=%s", dropped[0], dropped[-1])

    def watermarks(self) -> dict[TopicPartitionKey, int]:
        """The first offset per partition whose message is not on disk yet."""
        return self.tracker.watermarks()

    def forget_inflight(self) -> None:
        """Drop the waiting halves and the offset bookkeeping (after :meth:`flush`): the
        partitions were revoked or rewound, and those messages will be delivered again."""
        self.joiner.clear()
        self.tracker.reset()

    # -- index loading ---------------------------------------------------------------------

    def _event_ids(self, dataset: str, day: date) -> list[str]:
        ids = _column_values(day_dir(self.root, dataset, day), ["event_id"])
        return [] if ids is None else ids.get_column("event_id").to_list()

    def _feedback_keys(self, day: date) -> list[str]:
        rows = _column_values(day_dir(self.root, FEEDBACK, day), list(FEEDBACK_KEY))
        if rows is None:
            return []
        rows = rows.with_columns(pl.col("ts").dt.epoch("us"))
        return [feedback_key(*row) for row in rows.iter_rows()]
