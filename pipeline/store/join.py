"""Join each event with its Score, in memory, with a bounded buffer and a timeout.

Events (keyed by account) and scores (keyed by event id) travel on different topics and
partitions, so either half may come first. The first half to arrive waits for the other;
an event whose score has not come within ``timeout_s`` is released without a score, and a
score whose event has not come is dropped (its event is unknown to the store, or it has
already been written). When more than ``max_pending`` halves of a kind wait, the oldest is
released (an event) or dropped (a score) early. Every half carries its Kafka coordinates,
so the offsets are only committed once the row is written.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import dataclass, field

from schemas import EventRecord, Score

#: (topic, partition, offset) of a consumed message
Coord = tuple[str, int, int]


@dataclass(slots=True)
class Joined:
    """An event ready to be written, with its score when it came in time."""

    record: EventRecord
    score: Score | None
    coords: list[Coord]


@dataclass(slots=True)
class Drained:
    rows: list[Joined] = field(default_factory=list)
    #: coordinates of the scores dropped for want of their event
    dropped: list[Coord] = field(default_factory=list)


class Joiner:
    def __init__(self, timeout_s: float, max_pending: int) -> None:
        self.timeout_s = timeout_s
        self.max_pending = max_pending
        self._events: OrderedDict[str, tuple[EventRecord, Coord, float]] = OrderedDict()
        self._scores: OrderedDict[str, tuple[Score, Coord, float]] = OrderedDict()
        self._out = Drained()
        self.stats: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._events) + len(self._scores)

    def waiting_event(self, event_id: str) -> bool:
        return event_id in self._events

    def waiting_score(self, event_id: str) -> bool:
        return event_id in self._scores

    def offer_event(self, record: EventRecord, coord: Coord, now: float) -> None:
        """A new event (the caller has checked it is not a duplicate)."""
        waiting = self._scores.pop(record.event_id, None)
        if waiting is not None:
            score, score_coord, _ = waiting
            self._out.rows.append(Joined(record, score, [coord, score_coord]))
            self.stats["joined"] += 1
            return
        self._events[record.event_id] = (record, coord, now)
        if len(self._events) > self.max_pending:
            old, old_coord, _ = self._events.popitem(last=False)[1]
            self._out.rows.append(Joined(old, None, [old_coord]))
            self.stats["events_evicted"] += 1

    def offer_score(self, score: Score, coord: Coord, now: float) -> None:
        """A new score (the caller has checked its event is not written yet)."""
        waiting = self._events.pop(score.event_id, None)
        if waiting is not None:
            record, event_coord, _ = waiting
            self._out.rows.append(Joined(record, score, [event_coord, coord]))
            self.stats["joined"] += 1
            return
        self._scores[score.event_id] = (score, coord, now)
        if len(self._scores) > self.max_pending:
            self._out.dropped.append(self._scores.popitem(last=False)[1][1])
            self.stats["scores_evicted"] += 1

    def drain(self, now: float) -> Drained:
        """Joined rows, plus the halves that waited longer than the timeout."""
        out, self._out = self._out, Drained()
        horizon = now - self.timeout_s
        while self._events:
            event_id, (record, coord, arrived) = next(iter(self._events.items()))
            if arrived > horizon:
                break
            del self._events[event_id]
            out.rows.append(Joined(record, None, [coord]))
            self.stats["events_unscored"] += 1
        while self._scores:
            event_id, (_, coord, arrived) = next(iter(self._scores.items()))
            if arrived > horizon:
                break
            del self._scores[event_id]
            out.dropped.append(coord)
            self.stats["scores_orphaned"] += 1
        return out

    def clear(self) -> None:
        """Forget every waiting half (their partitions were revoked; they come again)."""
        self._events.clear()
        self._scores.clear()
        self._out = Drained()
