"""The garbage-collector policy of the long-running processes on the event path (the worker
and the simulator's Kafka producer): full collections that walk only what is new.

A full (generation 2) collection walks every tracked object, and these processes keep many
of them for long: their imported libraries, Faust and aiokafka, the model, and up to
``profile_cache_size`` account profiles of a few lists each. With about 48,000 such objects
a full pass took 16–59 ms of the worker's event loop; the simulator holds about 345,000
(typer, rich, polars, kafka-python …) and a full pass took 290 ms, during which its
producer's sender thread, waiting for the interpreter lock, delivered nothing while its
records carried their timestamps (docs/BENCHMARKS.md).

What survived a full collection was reachable, so it is frozen (``gc.freeze``): later
passes skip it, and an object in it that dies is still freed by its reference count. A cycle
that becomes garbage once frozen is only found by a pass over everything, so every
``full_scan_every_s`` the frozen objects go back to the collector for one whole pass.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

#: a pass over every object this often (a cycle that died meanwhile waits at most this)
FULL_SCAN_EVERY_S = 600.0


class FreezeSurvivors:
    """A ``gc.callbacks`` hook: after each full collection, freeze its survivors, except
    once every ``full_scan_every_s``, when it unfreezes them for the next pass."""

    def __init__(
        self,
        full_scan_every_s: float = FULL_SCAN_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.full_scan_every_s = full_scan_every_s
        self.clock = clock
        self.last_full_scan = clock()
        self.frozen = 0
        self.unfrozen = 0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop" or info.get("generation") != 2:
            return
        now = self.clock()
        if now - self.last_full_scan >= self.full_scan_every_s:
            gc.unfreeze()  # the next full collection walks everything once
            self.last_full_scan = now
            self.unfrozen += 1
        else:
            gc.freeze()
            self.frozen += 1


def install(full_scan_every_s: float = FULL_SCAN_EVERY_S) -> FreezeSurvivors:
    """Collect and freeze what is loaded now, then keep full collections short."""
    gc.collect()
    gc.freeze()
    hook = FreezeSurvivors(full_scan_every_s)
    gc.callbacks.append(hook)
    return hook


@contextmanager
def survivors_frozen(full_scan_every_s: float = FULL_SCAN_EVERY_S) -> Iterator[FreezeSurvivors]:
    """:func:`install` for the length of a block; after it the hook is removed and every
    frozen object is released (a command run inside a longer-lived process, such as a test
    runner, keeps no hook behind)."""
    hook = install(full_scan_every_s)
    try:
        yield hook
    finally:
        gc.callbacks.remove(hook)
        gc.unfreeze()
