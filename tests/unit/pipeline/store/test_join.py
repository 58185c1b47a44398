"""Joining events with their scores: either order, timeouts, bounded buffers."""

from __future__ import annotations

from pipeline.store.join import Joiner
from tests.unit.pipeline.store.records import score, transaction

EV = ("fraud.transactions.v1", 0, 1)
SC = ("fraud.scores.v1", 2, 7)


def test_event_first_then_score_joins() -> None:
    joiner = Joiner(timeout_s=10, max_pending=10)
    joiner.offer_event(transaction("e1"), EV, now=0)
    assert joiner.drain(1).rows == [] and joiner.waiting_event("e1")
    joiner.offer_score(score("e1", fraud=0.7), SC, now=2)
    rows = joiner.drain(2).rows
    assert len(rows) == 1 and rows[0].score is not None and rows[0].score.fraud_score == 0.7
    assert rows[0].coords == [EV, SC] and len(joiner) == 0


def test_score_first_then_event_joins() -> None:
    joiner = Joiner(timeout_s=10, max_pending=10)
    joiner.offer_score(score("e1"), SC, now=0)
    assert joiner.waiting_score("e1")
    joiner.offer_event(transaction("e1"), EV, now=5)
    (row,) = joiner.drain(5).rows
    assert row.record.event_id == "e1" and row.score is not None and set(row.coords) == {EV, SC}


def test_event_without_score_is_released_after_the_timeout() -> None:
    joiner = Joiner(timeout_s=10, max_pending=10)
    joiner.offer_event(transaction("e1"), EV, now=0)
    assert joiner.drain(9.9).rows == []
    (row,) = joiner.drain(10).rows
    assert row.score is None and row.coords == [EV]
    assert joiner.stats["events_unscored"] == 1


def test_score_without_event_is_dropped_after_the_timeout() -> None:
    joiner = Joiner(timeout_s=10, max_pending=10)
    joiner.offer_score(score("e1"), SC, now=0)
    out = joiner.drain(11)
    assert out.rows == [] and out.dropped == [SC] and len(joiner) == 0


def test_a_full_buffer_releases_the_oldest_first() -> None:
    joiner = Joiner(timeout_s=1000, max_pending=2)
    for i in range(3):
        joiner.offer_event(transaction(f"e{i}"), ("t", 0, i), now=i)
        joiner.offer_score(score(f"s{i}"), ("s", 0, i), now=i)
    out = joiner.drain(3)
    assert [r.record.event_id for r in out.rows] == ["e0"] and out.rows[0].score is None
    assert out.dropped == [("s", 0, 0)]
    assert joiner.waiting_event("e2") and joiner.waiting_score("s2")
