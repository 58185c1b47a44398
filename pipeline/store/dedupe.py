"""What the store already holds, per day: the dedupe index.

The index is not a second source of truth beside the data: it is built from the key columns
of the day's committed part files, so it can never disagree with them after a crash. In
memory each day is a sorted array of 64-bit hashes of the keys (8 bytes per row) plus a set
of the hashes added since; only the ``max_days`` most recently used days stay loaded, and
a day is reloaded from its files when an old event comes back. A 64-bit hash makes a false
"seen" (a distinct key dropped as a duplicate) about a one-in-10^7 event for a day of
10^6 rows.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import date

import numpy as np

MERGE_AT = 65_536


def key_hash(key: str) -> int:
    """A stable 64-bit hash (blake2b): the same in every process and Python version."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")


class DaySet:
    """The hashes of one day's keys."""

    __slots__ = ("recent", "sorted")

    def __init__(self, hashes: Iterable[int] = ()) -> None:
        self.sorted = np.unique(np.fromiter(hashes, dtype=np.uint64))
        self.recent: set[int] = set()

    def __contains__(self, value: int) -> bool:
        if value in self.recent:
            return True
        i = int(np.searchsorted(self.sorted, np.uint64(value)))
        return i < len(self.sorted) and int(self.sorted[i]) == value

    def add(self, value: int) -> None:
        self.recent.add(value)
        if len(self.recent) >= MERGE_AT:
            merged = np.fromiter(self.recent, dtype=np.uint64, count=len(self.recent))
            self.sorted = np.union1d(self.sorted, merged)
            self.recent.clear()

    def __len__(self) -> int:
        return len(self.sorted) + len(self.recent)


class SeenIndex:
    """Keys seen per day; ``load(day)`` returns the keys already on disk for that day."""

    def __init__(self, load: Callable[[date], Iterable[str]], max_days: int) -> None:
        self._load = load
        self.max_days = max_days
        self._days: OrderedDict[date, DaySet] = OrderedDict()
        self.loads = 0

    def _day(self, day: date) -> DaySet:
        found = self._days.get(day)
        if found is None:
            found = DaySet(key_hash(k) for k in self._load(day))
            self._days[day] = found
            self.loads += 1
        else:
            self._days.move_to_end(day)
        return found

    def contains(self, day: date, key: str) -> bool:
        return key_hash(key) in self._day(day)

    def add(self, day: date, key: str) -> None:
        self._day(day).add(key_hash(key))

    def trim(self) -> None:
        """Forget the least recently used days beyond ``max_days``.

        Call it only when everything added has been written: a forgotten day is reloaded
        from its files.
        """
        while len(self._days) > self.max_days:
            self._days.popitem(last=False)

    def loaded_days(self) -> list[date]:
        return list(self._days)
