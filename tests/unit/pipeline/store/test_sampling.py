"""Sampling keeps every alerted or labelled event and a stable share of the rest."""

from __future__ import annotations

from pipeline.store import keep_event, sample_point
from schemas import Decision
from tests.unit.pipeline.store.records import score


def test_alerted_and_labelled_events_are_always_kept() -> None:
    ids = [f"evt-{i}" for i in range(500)]
    for decision in (Decision.REVIEW, Decision.BLOCK):
        assert all(keep_event(i, score(i, decision), False, 0.01) for i in ids)
    assert all(keep_event(i, score(i), True, 0.01) for i in ids)


def test_the_sample_is_deterministic_and_about_the_rate() -> None:
    ids = [f"evt-{i}" for i in range(20_000)]
    first = [keep_event(i, score(i), False, 0.2) for i in ids]
    again = [keep_event(i, None, False, 0.2) for i in ids]  # unscored counts as allowed
    assert first == again
    assert 0.18 < sum(first) / len(ids) < 0.22
    assert all(keep_event(i, None, False, 1.0) for i in ids[:100])
    assert all(0.0 <= sample_point(i) < 1.0 for i in ids[:100])
