"""Which offsets may be committed: the store's low watermark per partition.

Every consumed message is pending until its fate is durable (its row is in a fsynced part
file) or final (it was invalid, a duplicate, or a score whose event never came). The
committable offset of a partition is its lowest pending offset, or the next offset when
nothing is pending: committing it can never acknowledge a message whose row is not on disk.
"""

from __future__ import annotations

TopicPartitionKey = tuple[str, int]


class OffsetTracker:
    def __init__(self) -> None:
        self._next: dict[TopicPartitionKey, int] = {}
        self._pending: dict[TopicPartitionKey, set[int]] = {}
        self._committed: dict[TopicPartitionKey, int] = {}

    def consumed(self, tp: TopicPartitionKey, offset: int) -> None:
        self._pending.setdefault(tp, set()).add(offset)
        if offset + 1 > self._next.get(tp, -1):
            self._next[tp] = offset + 1

    def done(self, tp: TopicPartitionKey, offset: int) -> None:
        pending = self._pending.get(tp)
        if pending is not None:
            pending.discard(offset)

    def pending(self) -> int:
        return sum(len(p) for p in self._pending.values())

    def watermarks(self) -> dict[TopicPartitionKey, int]:
        """Per partition, the first offset whose message is still pending (or the next)."""
        out: dict[TopicPartitionKey, int] = {}
        for tp, nxt in self._next.items():
            pending = self._pending.get(tp)
            out[tp] = min(pending) if pending else nxt
        return out

    def committable(self) -> dict[TopicPartitionKey, int]:
        """Watermarks that moved since the last :meth:`committed`."""
        return {
            tp: offset
            for tp, offset in self.watermarks().items()
            if offset > self._committed.get(tp, -1)
        }

    def committed(self, offsets: dict[TopicPartitionKey, int]) -> None:
        self._committed.update(offsets)

    def reset(self) -> None:
        """Forget everything (partitions were revoked: their messages will come again)."""
        self._next.clear()
        self._pending.clear()
        self._committed.clear()
