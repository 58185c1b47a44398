"""The commit watermark never passes a message whose row is not on disk."""

from __future__ import annotations

from pipeline.store.offsets import OffsetTracker

TP = ("fraud.transactions.v1", 0)


def test_watermark_waits_for_the_oldest_pending_offset() -> None:
    tracker = OffsetTracker()
    for offset in range(10, 15):
        tracker.consumed(TP, offset)
    tracker.done(TP, 11)
    tracker.done(TP, 12)
    assert tracker.committable() == {TP: 10}
    tracker.done(TP, 10)
    assert tracker.committable() == {TP: 13}
    tracker.done(TP, 13)
    tracker.done(TP, 14)
    assert tracker.committable() == {TP: 15}
    tracker.committed({TP: 15})
    assert tracker.committable() == {}
    tracker.reset()
    assert tracker.watermarks() == {} and tracker.pending() == 0
