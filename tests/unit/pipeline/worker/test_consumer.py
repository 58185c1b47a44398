"""The worker's consumer (pipeline/worker/consumer.py): the commit-offset rule against
Faust's own, the flow control on resume, and the hand-over of fetched records."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from types import MethodType, SimpleNamespace

import pytest
from faust.transport.consumer import Consumer as FaustConsumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread as FaustConsumerThread
from faust.types import TP, Message
from intervaltree import IntervalTree
from mode import Service
from mode.utils.queues import FlowControlEvent, FlowControlQueue

from pipeline.worker.consumer import (
    FETCH_MAX_WAIT_MS,
    CommitSafeConsumer,
    Express,
    FetchWithoutStalls,
    FetchWithTheReader,
    KeepOnResume,
    deliver,
    next_commit,
)

TP0 = TP("fraud.transactions.v1", 0)


def bookkeeping(acked: list[int], gap: tuple[int, int] | None, committed: int) -> SimpleNamespace:
    """The consumer attributes ``_new_offset`` reads and writes, for one partition."""
    tree = IntervalTree()
    if gap:
        tree.addi(*gap)
    state = SimpleNamespace(
        _acked=defaultdict(list, {TP0: list(acked)}),
        _acked_index=defaultdict(set, {TP0: set(acked)}),
        _gap=defaultdict(IntervalTree, {TP0: tree}),
        _committed_offset=defaultdict(lambda: None, {TP0: committed}),
        hole_grace_s=CommitSafeConsumer.hole_grace_s,
        seeks=[],
    )

    async def seek(tp: TP, offset: int) -> None:
        state.seeks.append((tp, offset))

    state.seek = seek
    state._watch_hole = MethodType(CommitSafeConsumer._watch_hole, state)
    return state


def commits(rule, state: SimpleNamespace, rounds: int) -> list[int]:
    """What ``rounds`` commit timer ticks commit, as Faust applies each offset."""
    out = []
    for _ in range(rounds):
        offset = rule(state, TP0)
        if offset is not None and offset > state._committed_offset[TP0]:
            out.append(offset)
            state._committed_offset[TP0] = offset
    return out


def test_a_replayed_fetch_stalls_faust_commits_and_not_ours() -> None:
    """After a seek back to the committed offset 100 while the previous fetch was still
    being delivered, offsets 101-299 were acknowledged and also recorded as a gap (the
    next record seen was 300 with the read offset reset to 100)."""
    acked = list(range(100, 1000))

    faust = bookkeeping(acked, (101, 300), committed=100)
    got = commits(FaustConsumer._new_offset, faust, rounds=20)
    assert got[-1] < 150, got  # one or two offsets per commit: 900 acked, stuck near 100

    ours = bookkeeping(acked, (101, 300), committed=100)
    assert commits(CommitSafeConsumer._new_offset, ours, rounds=2) == [1000]
    assert ours._acked[TP0] == [] and ours._acked_index[TP0] == set()


def test_the_rule_otherwise_matches_faust() -> None:
    cases = [
        ([5, 6, 7, 9, 10], None, 5),  # a hole after the head: commit up to it
        ([7, 8, 9], None, 5),  # the head is two short: wait for 5 and 6
        ([6, 7, 8], None, 5),  # one short (a transaction marker): accepted
        ([5, 6, 10, 11], (7, 10), 5),  # a gap of compacted offsets fills the hole
    ]
    for acked, gap, committed in cases:
        faust = bookkeeping(acked, gap, committed)
        ours = bookkeeping(acked, gap, committed)
        assert CommitSafeConsumer._new_offset(ours, TP0) == FaustConsumer._new_offset(faust, TP0)
        assert ours._acked[TP0] == faust._acked[TP0], (acked, gap)


def test_next_commit_ignores_offsets_already_committed() -> None:
    assert next_commit([3, 4, 5, 6], [], committed=5) == (7, [], [5, 6])
    assert next_commit([], [], committed=5) == (None, [], [])


def test_a_hole_that_never_fills_makes_the_partition_read_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Offsets 577-1089 never acknowledged, later ones are: after the grace period the
    partition is read again from the committed offset, once per grace period."""
    clock = [1000.0]
    monkeypatch.setattr("pipeline.worker.consumer.time.monotonic", lambda: clock[0])
    state = bookkeeping(list(range(1090, 2000)), None, committed=577)

    async def ticks(seconds: list[float]) -> None:
        for t in seconds:
            clock[0] = 1000.0 + t
            assert CommitSafeConsumer._new_offset(state, TP0) is None
            await asyncio.sleep(0)  # let a scheduled seek run

    asyncio.run(ticks([0, 5, 10, 14]))
    assert state.seeks == []
    asyncio.run(ticks([16, 20, 30]))
    assert state.seeks == [(TP0, 577)]
    asyncio.run(ticks([32]))
    assert state.seeks == [(TP0, 577), (TP0, 577)]
    # the lost records come back and are acknowledged: the commit goes through at once
    state._acked[TP0].extend(range(577, 1090))
    assert CommitSafeConsumer._new_offset(state, TP0) == 2000


def test_resuming_the_flow_keeps_delivered_records_and_a_revocation_still_clears() -> None:
    async def queued_after_resume(flow: FlowControlEvent) -> int:
        queue: FlowControlQueue = FlowControlQueue(flow_control=flow, clear_on_resume=True)
        flow.resume()  # the recovery's first resume: fetching starts
        for record in range(5):
            queue.put_nowait(record)
        flow.resume()  # the recovery's last one, after the seek to the committed offsets
        kept = queue.qsize()
        flow.suspend()
        flow.clear()  # what a revocation does
        assert queue.qsize() == 0
        return kept

    assert asyncio.run(queued_after_resume(FlowControlEvent())) == 0  # Faust's: dropped
    assert asyncio.run(queued_after_resume(KeepOnResume())) == 5


# ---- the hand-over of a fetched record ------------------------------------------------------
class _Race:
    """The ``interrupt`` the consumer gives :func:`deliver` (a ``mode`` service's
    ``wait_first`` of the rest of the hand-over and the flow's suspension), counting its
    calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.suspend = asyncio.Event()
        self.service = Service()

    async def __call__(self, rest: object) -> None:
        self.calls += 1
        await self.service.wait_first(rest, self.suspend.wait())  # type: ignore[arg-type]


def test_a_hand_over_that_need_not_wait_runs_inline() -> None:
    async def main() -> None:
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=2)
        race = _Race()

        async def callback(message: str) -> None:
            queue.put_nowait(message)

        before = len(asyncio.all_tasks())
        await deliver(callback, "m1", race)  # type: ignore[arg-type]
        assert race.calls == 0 and queue.get_nowait() == "m1"
        assert len(asyncio.all_tasks()) == before

    asyncio.run(main())


def test_a_hand_over_that_waits_finishes_through_the_race_with_what_it_awaited() -> None:
    async def main() -> None:
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1)
        queue.put_nowait("m0")  # full: the next put waits
        got: list[str] = []
        race = _Race()

        async def callback(message: str) -> None:
            await queue.put(message)
            got.append(await gate)  # a value sent back through the resumed coroutine

        loop = asyncio.get_running_loop()
        gate: asyncio.Future[str] = loop.create_future()
        loop.call_later(0.01, queue.get_nowait)
        loop.call_later(0.02, gate.set_result, "opened")
        await deliver(callback, "m1", race)  # type: ignore[arg-type]
        assert race.calls == 1 and got == ["opened"] and queue.get_nowait() == "m1"

    asyncio.run(main())


def test_a_waiting_hand_over_is_abandoned_when_the_flow_is_suspended() -> None:
    async def main() -> None:
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1)
        queue.put_nowait("m0")
        race = _Race()
        ended: list[str] = []

        async def callback(message: str) -> None:
            try:
                await queue.put(message)
            finally:
                ended.append(message)

        asyncio.get_running_loop().call_later(0.01, race.suspend.set)
        await deliver(callback, "m1", race)  # type: ignore[arg-type]
        await asyncio.sleep(0)  # the cancellation reaches the abandoned rest
        assert race.calls == 1 and ended == ["m1"] and queue.qsize() == 1

    asyncio.run(main())


def test_an_error_in_the_hand_over_reaches_the_fetch_loop_either_way() -> None:
    async def main() -> None:
        race = _Race()

        async def at_once(message: str) -> None:
            raise ValueError(message)

        async def after_a_wait(message: str) -> None:
            await asyncio.sleep(0.001)
            raise ValueError(message)

        with pytest.raises(ValueError, match="now"):
            await deliver(at_once, "now", race)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="later"):
            await deliver(after_a_wait, "later", race)  # type: ignore[arg-type]

    asyncio.run(main())


def express_consumer(handler, generation: int = 3) -> SimpleNamespace:
    """The consumer attributes the express lane and Faust's ``ack`` use."""
    state = SimpleNamespace(
        app=SimpleNamespace(
            consumer_generation_id=generation,
            express=Express(frozenset({TP0.topic}), handler, batch_max=4),
            topics=SimpleNamespace(acks_enabled_for=lambda topic: True),
        ),
        _unacked_messages=set(),
        _committed_offset=defaultdict(lambda: None, {TP0: 10}),
        _acked=defaultdict(list),
        _acked_index=defaultdict(set),
        _n_acked=0,
        _waiting_for_ack=None,
    )
    state.ack = MethodType(FaustConsumer.ack, state)
    return state


def fetched(state: SimpleNamespace, offsets: range) -> list[Message]:
    batch = [Message(TP0.topic, 0, o, 0.0, 0, None, None, b"{}", None, tp=TP0) for o in offsets]
    state._unacked_messages.update(batch)  # as the fetch loop tracks them
    return batch


def test_an_express_batch_is_acknowledged_only_after_its_handler_returned() -> None:
    seen: list[tuple[list[int], list[int]]] = []

    async def handler(batch: list[Message]) -> None:
        await asyncio.sleep(0)
        seen.append(([m.offset for m in batch], list(state._acked[TP0])))

    state = express_consumer(handler)
    batch = fetched(state, range(10, 14))
    asyncio.run(CommitSafeConsumer._express(state, batch, 3))
    assert seen == [([10, 11, 12, 13], [])]  # nothing acknowledged while it ran
    assert state._acked[TP0] == [10, 11, 12, 13] and not state._unacked_messages


def test_an_express_batch_that_fails_is_not_acknowledged() -> None:
    async def handler(batch: list[Message]) -> None:
        raise RuntimeError("broker refused the Scores")

    state = express_consumer(handler)
    batch = fetched(state, range(10, 12))
    with pytest.raises(RuntimeError):
        asyncio.run(CommitSafeConsumer._express(state, batch, 3))
    assert state._acked[TP0] == [] and state._unacked_messages == set(batch)


def test_an_express_batch_fetched_before_a_rebalance_is_dropped() -> None:
    calls: list[int] = []

    async def handler(batch: list[Message]) -> None:
        calls.append(len(batch))

    state = express_consumer(handler, generation=4)  # the group moved on since the fetch
    batch = fetched(state, range(10, 12))
    asyncio.run(CommitSafeConsumer._express(state, batch, 3))
    assert calls == [] and state._acked[TP0] == [] and not state._unacked_messages


def test_the_fetcher_neither_backs_off_on_untaken_records_nor_long_polls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What :class:`FetchWithoutStalls` changes on the aiokafka consumer Faust builds: the
    broker holds an empty fetch 20 ms (not Faust's 1.5 s) and the fetcher has no prefetch
    backoff (aiokafka's 0.1 s held every fetch while a changelog record sat untaken)."""
    built = SimpleNamespace(_fetch_max_wait_ms=1500)
    started = SimpleNamespace(_fetcher=FakeFetcher())

    async def faust_on_start(self: FaustConsumerThread) -> None:
        self._consumer = started

    monkeypatch.setattr(FaustConsumerThread, "_create_worker_consumer", lambda s, t: built)
    monkeypatch.setattr(FaustConsumerThread, "on_start", faust_on_start)
    thread = object.__new__(FetchWithoutStalls)  # nothing of Faust's service set-up needed
    assert thread._create_worker_consumer(None) is built
    assert built._fetch_max_wait_ms == FETCH_MAX_WAIT_MS <= 50
    asyncio.run(thread.on_start())
    assert started._fetcher._prefetch_backoff == 0.0
    assert isinstance(thread.fetch_gate, FetchWithTheReader)
    assert thread.fetch_gate.fetcher is started._fetcher


CHANGELOG = TP("fraudstream-worker-profiles-changelog", 0)
TP1 = TP("fraud.logins.v1", 1)


class FakeFetcher:
    """The parts of aiokafka's Fetcher that :class:`FetchWithTheReader` touches: two
    brokers, node 0 leads TP0 and the changelog, node 1 leads TP1."""

    def __init__(self) -> None:
        self._prefetch_backoff = 0.1
        self._records: dict[TP, object] = {}
        self._wait_consume_future: asyncio.Future[None] | None = None
        self.notified = 0
        self.returns: dict[TP, list[int]] = {}

    def _select_read_replica(self, tp: TP) -> int:
        return 1 if tp == TP1 else 0

    def _get_actions_per_node(self, assignment: object) -> tuple:
        # what aiokafka plans: a fetch to each broker, the fetcher's timeout
        return ([(0, "fetch-0"), (1, "fetch-1")], {}, 0.2, False, [])

    async def fetched_records(
        self, partitions: object, timeout: float = 0, max_records: int | None = None
    ) -> dict[TP, list[int]]:
        return dict(self.returns)

    def _notify(self, future: object) -> None:
        self.notified += 1


def test_no_fetch_goes_to_a_broker_while_records_the_reader_reads_wait_there() -> None:
    fetcher = FakeFetcher()
    gate = FetchWithTheReader(fetcher)
    assert fetcher._get_actions_per_node(None)[0] == [(0, "fetch-0"), (1, "fetch-1")]

    asyncio.run(fetcher.fetched_records({TP0, TP1}, timeout=1.0))  # the reader reads both
    fetcher._records[TP0] = "records not taken yet"
    requests, _resets, timeout, *_ = fetcher._get_actions_per_node(None)
    assert requests == [(1, "fetch-1")] and timeout == 0.2  # node 0 waits for the reader

    # a partition the reader does not read (a changelog after recovery) holds nothing back
    del fetcher._records[TP0]
    fetcher._records[CHANGELOG] = "never taken"
    assert fetcher._get_actions_per_node(None)[0] == [(0, "fetch-0"), (1, "fetch-1")]

    asyncio.run(fetcher.fetched_records(None))  # no partitions named: it reads them all
    assert gate.read is None
    assert fetcher._get_actions_per_node(None)[0] == [(1, "fetch-1")]


def test_taking_records_wakes_the_fetch_loop_and_taking_none_does_not() -> None:
    fetcher = FakeFetcher()
    FetchWithTheReader(fetcher)
    assert asyncio.run(fetcher.fetched_records({TP0})) == {} and fetcher.notified == 0
    fetcher.returns = {TP0: [1, 2, 3]}
    assert asyncio.run(fetcher.fetched_records({TP0}, max_records=3)) == {TP0: [1, 2, 3]}
    assert fetcher.notified == 1


def test_the_gate_wraps_what_aiokafkas_fetch_loop_and_faust_call() -> None:
    """:class:`FetchWithTheReader` replaces two methods of aiokafka's Fetcher by name: if an
    upgrade renamed them or stopped calling them, the gate would silently do nothing."""
    import inspect

    from aiokafka.consumer.fetcher import Fetcher

    loop_source = inspect.getsource(Fetcher._fetch_requests_routine)
    assert "self._get_actions_per_node(assignment)" in loop_source
    assert "self._wait_consume_future" in loop_source
    assert list(inspect.signature(Fetcher.fetched_records).parameters) == [
        "self", "partitions", "timeout", "max_records",
    ]  # fmt: skip
    assert "fetcher.fetched_records(" in inspect.getsource(FaustConsumerThread._fetch_records)
    for name in ("_select_read_replica", "_notify"):
        assert callable(getattr(Fetcher, name))
