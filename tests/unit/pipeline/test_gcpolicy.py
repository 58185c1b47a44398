"""The collector hook of the worker and the simulator's producer: survivors of a full
collection are frozen, and once in a while unfrozen so that one pass walks everything."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from pipeline.gcpolicy import FreezeSurvivors, survivors_frozen


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_survivors_of_a_full_collection_are_frozen_and_released_every_period(
    unfrozen: None,
) -> None:
    now = [0.0]
    hook = FreezeSurvivors(full_scan_every_s=600.0, clock=lambda: now[0])
    kept = [[i] for i in range(1000)]  # tracked containers that survive
    hook("start", {"generation": 2})
    hook("stop", {"generation": 1, "collected": 0})  # not a full collection: nothing
    assert gc.get_freeze_count() == 0
    gc.collect()
    hook("stop", {"generation": 2, "collected": 0})
    assert gc.get_freeze_count() >= len(kept) and hook.frozen == 1
    now[0] = 601.0  # the period is over: the next full pass walks everything
    hook("stop", {"generation": 2, "collected": 0})
    assert gc.get_freeze_count() == 0 and hook.unfrozen == 1
    now[0] = 602.0
    hook("stop", {"generation": 2, "collected": 0})
    assert gc.get_freeze_count() >= len(kept) and hook.frozen == 2


def test_a_frozen_object_that_dies_is_still_freed(unfrozen: None) -> None:
    import weakref

    class Node:
        pass

    node = Node()
    ref = weakref.ref(node)
    gc.collect()
    FreezeSurvivors(clock=lambda: 0.0)("stop", {"generation": 2})
    assert gc.get_freeze_count() > 0
    del node  # no cycle: its reference count frees it, frozen or not
    assert ref() is None


def test_survivors_frozen_lasts_for_its_block_only(unfrozen: None) -> None:
    before = list(gc.callbacks)
    with survivors_frozen() as hook:
        assert hook in gc.callbacks
        assert gc.get_freeze_count() > 0  # what was loaded is frozen from the start
    assert gc.callbacks == before and gc.get_freeze_count() == 0


def test_survivors_frozen_cleans_up_when_its_block_fails(unfrozen: None) -> None:
    before = list(gc.callbacks)
    with pytest.raises(RuntimeError), survivors_frozen():
        raise RuntimeError("the producer failed")
    assert gc.callbacks == before and gc.get_freeze_count() == 0
