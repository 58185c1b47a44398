"""The dedupe index: hashes per day, reloaded from disk when a forgotten day comes back."""

from __future__ import annotations

from datetime import date

from pipeline.store.dedupe import MERGE_AT, DaySet, SeenIndex, key_hash

D1, D2, D3 = date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)


def test_day_set_keeps_members_across_merges() -> None:
    day = DaySet(key_hash(f"old-{i}") for i in range(10))
    for i in range(MERGE_AT + 5):
        day.add(key_hash(f"new-{i}"))
    assert key_hash("old-3") in day and key_hash(f"new-{MERGE_AT + 4}") in day
    assert key_hash("new-0") in day and key_hash("other") not in day
    assert len(day) == 10 + MERGE_AT + 5


def test_index_loads_days_lazily_and_reloads_after_trim() -> None:
    disk = {D1: ["a", "b"], D2: ["c"], D3: []}
    index = SeenIndex(lambda d: disk[d], max_days=2)
    assert index.contains(D1, "a") and not index.contains(D1, "c")
    assert index.contains(D2, "c") and not index.contains(D3, "a")
    index.add(D3, "z")
    index.trim()
    assert index.loaded_days() == [D2, D3]
    assert index.contains(D1, "b") and index.loads == 4  # D1 reloaded from "disk"
