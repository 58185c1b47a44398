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

And three for speed. :class:`FetchWithoutStalls` keeps aiokafka's fetcher from pausing on
records nobody takes. :meth:`CommitSafeConsumer._drain_messages` hands a fetched record to
the streams without racing it against the flow's suspension in four new tasks when the
hand-over does not have to wait (the common case; see :func:`deliver`), and the records
of the app's :class:`Express` topics skip the streams: each fetch's records go to one
handler in batches, and are acknowledged once it has returned.
"""

from __future__ import annotations

import asyncio
import logging
import time
import types
from collections.abc import Awaitable, Callable, Generator, Iterable
from dataclasses import dataclass
from typing import Any

import faust
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message
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


@types.coroutine
def _resumed(coro: Any, waiting_on: Any) -> Generator[Any, None, Any]:
    """The rest of ``coro``, which has just yielded ``waiting_on`` to its driver: as a
    task's coroutine, it waits on the same thing, then lets ``coro`` go on from there."""
    try:
        yield waiting_on
    except BaseException:
        coro.close()  # cancelled while waiting: ``coro`` ends at the point it waited
        raise
    return (yield from coro)


async def _finish(coro: Any, waiting_on: Any) -> Any:
    """:func:`_resumed` as a native coroutine (what ``asyncio`` and ``mode`` take)."""
    return await _resumed(coro, waiting_on)


async def deliver(
    callback: Callable[[Message], Awaitable[None]],
    message: Message,
    interrupt: Callable[[Awaitable[Any]], Awaitable[Any]],
) -> None:
    """Run ``callback(message)``; only when it has to wait, finish it through ``interrupt``.

    Faust's fetch loop awaits every hand-over raced against the flow's suspension (a
    rebalance must not wait behind a full stream queue), which starts four tasks and an
    ``asyncio.wait`` per record. The hand-over almost never waits: the record goes into a
    stream queue with room. So the coroutine is stepped here first; only if it stops on
    something does the race start, with what is left of it.
    """
    coro = callback(message)
    try:
        waiting_on = coro.send(None)
    except StopIteration:
        return
    await interrupt(_finish(coro, waiting_on))


@dataclass(frozen=True, slots=True)
class Express:
    """Topics whose records skip Faust's streams: the fetch loop hands each fetch's records
    of these topics to ``handler`` in batches of at most ``batch_max`` (no waiting to fill
    one) and acknowledges them when ``handler`` returns.

    A Faust stream costs every record a decode into an event, a queue hand-over, the
    stream iterator and the take buffer, sensor calls and a reference-counted ack: about a
    tenth of the worker's CPU. The topics stay subscribed through their agent (tables,
    co-partitioning and assignment are unchanged); the agent simply receives nothing.
    ``handler`` must not return without having dealt with the whole batch: what it returns
    from is acknowledged (the worker's handler exits the process on an error instead).
    """

    topics: frozenset[str]
    handler: Callable[[list[Message]], Awaitable[None]]
    batch_max: int


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
    #: records handed over between two yields to the event loop
    yield_every: int = 100

    #: seconds between two looks at a full stream queue
    room_poll_s: float = 0.002

    def _new_consumer_thread(self) -> FetchWithoutStalls:
        return FetchWithoutStalls(self, loop=self.loop, beacon=self.beacon)

    def _queues(self, tp: TP) -> list[Any]:
        """The stream queues the records of ``tp`` go to."""
        return [channel.queue for channel in self.app.topics._tp_index.get(tp, ())]

    def _full(self, tp: TP) -> bool:
        return any(channel.queue.full() for channel in self.app.topics._tp_index.get(tp, ()))

    async def _wait_for_room(self, tp: TP) -> None:
        """Wait until the stream queues of ``tp`` are down to half (or the flow stops).

        A full queue makes every hand-over wait, one record at a time, each through the
        race :func:`deliver` avoids; in a backlog that was one record in six. Waiting once
        for half a queue of room lets the next records go in without waiting.
        """
        queues = self._queues(tp)
        while not (self.suspend_flow.is_set() or self.should_stop) and any(
            queue.qsize() > queue.maxsize // 2 for queue in queues
        ):
            await asyncio.sleep(self.room_poll_s)

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - live loop
        """Fetch records and hand each one to the streams (Faust's loop, with
        :func:`deliver` for the hand-over)."""
        read_offsets = self._read_offset
        acks_enabled_for = self.app.topics.acks_enabled_for
        express: Express | None = getattr(self.app, "express", None)
        express_topics = express.topics if express is not None else frozenset()
        express_max = express.batch_max if express is not None else 0

        async def interruptible(rest: Awaitable[Any]) -> None:
            await self.wait_first(rest, self.suspend_flow.wait())

        def stopping() -> bool:
            return self._stopped.is_set() or fetcher._stopped.is_set()

        since_yield = 0
        try:
            while not stopping():
                self.diag.set_flag(CONSUMER_FETCHING)
                records = self.getmany(timeout=1.0)
                await asyncio.sleep(0)  # getmany may return at once, again and again
                if self.should_stop:
                    break
                generation = self.app.consumer_generation_id
                batch: list[Message] = []
                async for tp, message in records:
                    since_yield += 1
                    if since_yield > self.yield_every:
                        since_yield = 0
                        await asyncio.sleep(0)
                    offset, read = message.offset, read_offsets[tp]
                    if read is not None and offset < read:
                        continue  # fetched again after a seek: already handed over
                    if read and offset - read > 1 and acks_enabled_for(message.topic):
                        await self._add_gap(tp, read + 1, offset)  # never delivered
                    if self._commit_every is not None and self._n_acked >= self._commit_every:
                        self._n_acked = 0
                        await self.commit()
                    if message.topic in express_topics:
                        self._unacked_messages.add(message)  # a stop or rebalance waits for it
                        batch.append(message)
                        read_offsets[tp] = offset
                        if len(batch) >= express_max:
                            await self._express(batch, generation)
                            batch = []
                        continue
                    if self._full(tp):
                        await self._wait_for_room(tp)
                    await deliver(self.callback, message, interruptible)
                    read_offsets[tp] = offset
                if batch:
                    await self._express(batch, generation)
                self.diag.unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if not self.transport.app.should_stop:
                raise
            log.info("consumer stopped by the broker while the app stops")
        except asyncio.CancelledError:
            if not self.transport.app.should_stop:
                raise
        except Exception:
            log.exception("fetch loop failed")
            raise
        finally:
            self.diag.unset_flag(CONSUMER_FETCHING)

    async def _express(self, batch: list[Message], generation: int) -> None:
        """Hand ``batch`` to the app's express handler, then acknowledge it, unless a
        rebalance came in between: the records are then dropped, as Faust clears its stream
        queues, and read again from the committed offsets by the partitions' owner."""
        express: Express = self.app.express  # type: ignore[attr-defined]
        if self.app.consumer_generation_id != generation:
            for message in batch:
                self._unacked_messages.discard(message)
            log.info("express batch of %d dropped: partitions were reassigned", len(batch))
            return
        await express.handler(batch)
        ack = self.ack
        for message in batch:
            ack(message)

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


#: longest time the broker holds a fetch that finds no new record (Faust asks for 1.5 s)
FETCH_MAX_WAIT_MS = 20


class FetchWithTheReader:
    """Makes an aiokafka fetcher fetch a broker's partitions together, once the reader has
    taken what the last fetch brought of the partitions it reads.

    aiokafka keeps one fetch in flight per broker, and leaves out of a new fetch every
    partition whose fetched records wait to be taken. So as soon as a fetch brings the
    input topics' records, it sends the next fetch for the other partitions only (the
    changelogs, feedback, model updates …), which the broker holds for up to
    ``fetch_max_wait_ms`` when they are quiet; the input partitions, drained meanwhile,
    must wait for it to come back before they are fetched again. In the live benchmark
    that wait was a few milliseconds of every cycle, and now and then 200 ms (the
    fetcher's own timeout): the stalls of docs/BENCHMARKS.md. Here, no fetch is sent to a
    broker while records of a partition the reader reads from (those of its last
    ``fetched_records`` call) wait to be taken, and every call that takes records wakes the
    fetch loop, so the next fetch carries every partition of the broker again.
    """

    def __init__(self, fetcher: Any) -> None:
        self.fetcher = fetcher
        #: partitions of the reader's last call; None: every partition (the call named none)
        self.read: frozenset[Any] | None = frozenset()
        self._actions = fetcher._get_actions_per_node
        self._fetched_records = fetcher.fetched_records
        fetcher._get_actions_per_node = self.actions_per_node
        fetcher.fetched_records = self.fetched_records

    def waiting_nodes(self) -> set[Any]:
        """Brokers with records of a read partition not taken yet."""
        read = self.read
        return {
            self.fetcher._select_read_replica(tp)
            for tp in self.fetcher._records
            if read is None or tp in read
        }

    def actions_per_node(self, assignment: Any) -> tuple[Any, ...]:
        requests, *rest = self._actions(assignment)
        waiting = self.waiting_nodes()
        return ([(node, req) for node, req in requests if node not in waiting], *rest)

    async def fetched_records(
        self, partitions: Any, timeout: float = 0, max_records: int | None = None
    ) -> dict[Any, list[Any]]:
        self.read = frozenset(partitions) if partitions else None
        records = await self._fetched_records(partitions, timeout=timeout, max_records=max_records)
        if records:  # a partition partly taken does not wake the loop by itself
            self.fetcher._notify(self.fetcher._wait_consume_future)
        return records


class FetchWithoutStalls(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's aiokafka consumer thread with a fetcher that does not stall on changelogs.

    aiokafka keeps one fetch in flight per broker and sends no new one while a partition
    holds fetched records younger than ``prefetch_backoff`` (0.1 s) that the application
    has not taken. A worker is assigned its tables' changelog partitions, which Faust does
    not take records from once their recovery is over; every first record fetched from
    one of them (the worker writes them itself) held every other partition's fetch for
    100 ms: the spikes in the live benchmark's first seconds (docs/BENCHMARKS.md). Without
    the backoff, a fetch leaves those partitions out at once, and a fetch made of such
    partitions only must not be held by the broker for long, or it holds back the next
    fetch of the input topics: hence ``fetch_max_wait_ms`` of :data:`FETCH_MAX_WAIT_MS`.
    :class:`FetchWithTheReader` then keeps such fetches from being sent at all while the
    input topics' records wait to be taken.
    """

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read when it starts its fetcher
        return consumer

    async def on_start(self) -> None:
        await super().on_start()
        self._consumer._fetcher._prefetch_backoff = 0.0  # type: ignore[union-attr]
        self.fetch_gate = FetchWithTheReader(self._consumer._fetcher)  # type: ignore[union-attr]


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

    #: topics the consumer hands to a handler in batches, past the streams (or None)
    express: Express | None = None

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)

    @cached_property
    def flow_control(self) -> FlowControlEvent:
        return KeepOnResume(loop=self.loop)
