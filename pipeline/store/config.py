"""Options of the training store: where it writes, how often, how it joins and samples."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.store.exceptions import StoreConfigError
from schemas import Topic

#: the topics the store reads: the scored events, their scores and the late labels
STORE_TOPICS: tuple[str, ...] = (
    Topic.TRANSACTIONS.value,
    Topic.LOGINS.value,
    Topic.SCORES.value,
    Topic.FEEDBACK.value,
)


@dataclass(frozen=True)
class StoreConfig:
    """Defaults suit one store per broker; tests shrink the intervals."""

    directory: Path
    #: the store's own consumer group: one store process per group and directory
    group_id: str = "fraudstream-store"
    #: where a new group starts: earliest keeps the topics' whole history
    auto_offset_reset: str = "earliest"
    #: share of allowed, unlabelled events kept (by a hash of event_id: replays agree)
    sample_rate: float = 1.0
    #: write the buffered rows when this many are waiting ...
    flush_records: int = 10_000
    #: ... or this many seconds after the last write
    flush_seconds: float = 10.0
    #: an event waits this long for its score (and a score for its event), wall seconds
    join_timeout_s: float = 60.0
    #: events (and, separately, scores) waiting for their other half; the oldest go first
    max_pending: int = 200_000
    #: days of the dedupe index kept in memory (others are reloaded from disk when needed)
    index_days: int = 8
    #: merge a day's small part files once it has this many
    compact_files: int = 64
    #: part files at least this big are left alone by compaction
    compact_max_bytes: int = 128 * 1024 * 1024
    #: sampled-out events are held this many days (event time) in case a label arrives
    hold_days: int = 120
    #: how often labels received are matched against the held events, seconds
    promote_seconds: float = 60.0
    poll_timeout_ms: int = 500
    max_poll_records: int = 2_000
    session_timeout_ms: int = 10_000
    client_id: str = "fraudstream-store"

    def __post_init__(self) -> None:
        if not 0.0 < self.sample_rate <= 1.0:
            raise StoreConfigError(
                f"--sample-rate {self.sample_rate} is outside (0, 1]; 1.0 keeps every event"
            )
        if self.auto_offset_reset not in ("earliest", "latest"):
            raise StoreConfigError(
                f"start position {self.auto_offset_reset!r} must be 'earliest' or 'latest'"
            )
        positive = {
            "--flush-records": self.flush_records,
            "--flush-seconds": self.flush_seconds,
            "--join-timeout": self.join_timeout_s,
            "max_pending": self.max_pending,
            "index_days": self.index_days,
            "compact_files": self.compact_files,
            "hold_days": self.hold_days,
            "promote_seconds": self.promote_seconds,
        }
        for name, value in positive.items():
            if value <= 0:
                raise StoreConfigError(f"{name} must be positive, got {value}")
