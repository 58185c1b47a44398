"""Faust's app and Kafka consumer, fixed where a restart could stall a partition's commits.

Three changes, each in a subclass (nothing of Faust is patched in place):

- :class:`KeepOnResume`: resuming the flow no longer clears the stream queues. The table
  recovery after an assignment resumed it after the fetcher had started delivering from
  the committed offsets, and the records delivered in between were lost: never processed,
  never acknowledged, and the partition never committed again. This is the fault the crash
  test met.
- :func:`next_commit`: Faust commits, per partition, the end of the first run of
  consecutive acknowledged offsets. Offsets it skips on purpose (a jump in the fetched
  offsets: compaction, transaction markers) are kept as a *gap* and merged into the
  acknowledged list before each commit. A fetch replayed after a seek makes such a gap out
  of offsets that were delivered and acknowledged too; faust-streaming 0.15.3 then appends
  them a second time, and the duplicates split its run (``[7, 8, 8, 9]`` is two runs), so
  each commit advances by one or two offsets. The same rule is computed here on the *set*
  of acknowledged offsets.
- :class:`CommitSafeConsumer`: a hole at the head of the acknowledged offsets that
  outlasts a grace period, whatever its cause, makes the partition be read again from its
  committed offset.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from mode.utils.objects import cached_property
from mode.utils.queues import FlowControlEvent

log = logging.getLogger(__name__)


def next_commit(
    acked: Iterable[int], gaps: Iterable[tuple[int, int]], committed: int | None
) -> tuple[int | None, list[int], list[int]]:
    """The offset to commit (or None), the acknowledged offsets that stay, and the run
    consumed.

    ``gaps`` are half-open ``[begin, end)`` ranges of offsets that never reach a stream,
    below the highest acknowledged offset. As in Faust, a head one offset short of the
    committed one is accepted (a transaction marker takes an offset and is never delivered);
    a longer hole at the head waits for its messages.
    """
    offsets = {o for o in acked if committed is None or o >= committed}
    for begin, end in gaps:
        offsets.update(range(begin, end))
    if not offsets:
        return None, [], []
    ordered = sorted(offsets)
    if committed and ordered[0] - committed > 1:
        return None, ordered, []
    run = 1
    while run < len(ordered) and ordered[run] == ordered[run - 1] + 1:
        run += 1
    return ordered[run - 1] + 1, ordered[run:], ordered[:run]


class CommitSafeConsumer(faust_aiokafka.Consumer):
    """The aiokafka driver's consumer with :func:`next_commit` as its offset rule, and a
    way out of a hole that never fills.

    A hole at the head of a partition's acknowledged offsets (the records right after the
    committed offset never acknowledged, later ones acknowledged) holds every later commit
    of that partition. The crash test met one after a restart, every event scored, the
    committed offset stuck for good: the records of a fetch were lost between the consumer
    and the stream while the recovery re-seeked the partition. Once such a hole has lasted
    :attr:`hole_grace_s` seconds, the partition is read again from its committed offset:
    the records the worker already handled are recognised by the state and neither scored
    nor counted again; the lost ones are processed and fill the hole.
    """

    hole_grace_s: float = 15.0

    def _new_offset(self, tp: TP) -> int | None:
        acked = self._acked[tp]
        if not acked:
            return None
        gap = self._gap[tp]
        top = max(acked)
        overlap = sorted(gap.overlap(0, top)) if gap else []
        spans = [(iv.begin, iv.end) for iv in overlap]
        committed = self._committed_offset[tp]
        offset, remaining, _run = next_commit(acked, spans, committed)
        if spans:  # the gap up to what is now known is used up, as in Faust
            gap.chop(0, max(spans[-1][1] - 1, top + 1))
        self._acked_index[tp].difference_update(set(acked).difference(remaining))
        acked[:] = remaining
        self._watch_hole(tp, committed, remaining if offset is None else [])
        return offset

    def _watch_hole(self, tp: TP, committed: int | None, waiting: list[int]) -> None:
        holes: dict[TP, tuple[int | None, float]] = self.__dict__.setdefault("_holes", {})
        if not waiting or committed is None:
            holes.pop(tp, None)
            return
        since = holes.get(tp)
        now = time.monotonic()
        if since is None or since[0] != committed:
            holes[tp] = (committed, now)
            return
        if now - since[1] < self.hole_grace_s:
            return
        holes[tp] = (committed, now)  # another grace period before a second re-read
        log.warning(
            "commit_hole tp=%s/%d committed=%d first_acked=%d acked=%d lasted=%.0fs: "
            "reading the partition again from its committed offset",
            tp.topic, tp.partition, committed, waiting[0], len(waiting), now - since[1],
        )  # fmt: skip
        task = asyncio.ensure_future(self.seek(tp, committed))
        self.__dict__.setdefault("_reseeks", set()).add(task)
        task.add_done_callback(self.__dict__["_reseeks"].discard)


class _Transport(faust_aiokafka.Transport):
    Consumer = CommitSafeConsumer


class KeepOnResume(FlowControlEvent):
    """Flow control whose ``resume`` keeps what the stream queues hold.

    Faust's clears every stream queue on resume. A revocation clears them explicitly
    already (and the next assignment re-reads from the committed offsets). But the table
    recovery that follows an assignment resumes the flow *after* it has sought the stream
    partitions to their committed offsets and the fetcher has started delivering from
    there: the records delivered in between were dropped while the consumer's read offset
    had gone past them, so they were never processed nor acknowledged (the hole
    :class:`CommitSafeConsumer` watches for). The crash test lost 35-513 records this way
    in about half its runs.
    """

    def resume(self) -> None:
        self._suspend.clear()
        self._resume.set()


class WorkerApp(faust.App):
    """The worker's Faust app: consumes through :class:`CommitSafeConsumer`, and resuming
    the flow keeps the records already delivered (:class:`KeepOnResume`)."""

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)

    @cached_property
    def flow_control(self) -> FlowControlEvent:
        return KeepOnResume(loop=self.loop)
