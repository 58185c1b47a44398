"""The Faust application: agents, tables, web views. Built by ``create_app(settings)``.

Topology (one consumer group; partitions are the unit of scale)::

    fraud.transactions.v1 + fraud.logins.v1 ──► score_events ──► fraud.scores.v1 / alerts.v1
                                   │ invalid ─────────────────► fraud.deadletter.v1
    fraud.feedback.v1 ──► route_feedback ──► fraud.merchant-labels.v1 (keyed by merchant)
    fraud.merchant-labels.v1 ──► apply_labels ──► merchant-risk (one writer per merchant)
    merchant-risk changelog ──► every worker's RiskMirror (no group) ──► score_events
    fraud.model-updates.v1 ──► every worker (no group) ──► hot swap between batches

Raw bytes in and out: the schemas codec is the only (de)serialiser, so Faust never needs a
Record mirroring a pydantic model.
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NoReturn

import faust
from faust.stores.rocksdb import Store as RocksDBStore
from faust.streams import _current_event
from faust.types import TP, EventT, Message
from prometheus_client import generate_latest

from pipeline.settings import Settings
from pipeline.worker.consumer import Express, WorkerApp
from pipeline.worker.engine import Engine, Incoming, Outcome, ProfileCache
from pipeline.worker.metrics import WorkerMetrics
from pipeline.worker.mirror import RiskMirror
from pipeline.worker.models import ModelHolder
from pipeline.worker.readback import OUTPUT_TOPICS, Emitted, dead_letter_key, read_back
from pipeline.worker.sending import BatchSender, Sent, compression_type, delivered
from schemas import Topic

log = logging.getLogger(__name__)

METRICS_MEDIA_TYPE = "text/plain; version=0.0.4"
#: The producer's record-batch limit. A micro-batch's changelog records for one partition
#: (an account profile is 3-8 KB) should fit in one record batch: the producer keeps one
#: request in flight per broker and a partition's next record batch waits for it, so
#: Faust's 16 KB default cost a broker round trip per 16 KB (20,000-event drains:
#: 2,600-3,050 events/s against 3,690-4,617 with this). Below the broker's and the topics'
#: default message.max.bytes (1 MiB + 12).
PRODUCER_BATCH_BYTES = 1_000_000
#: exit status of a worker that stopped on an unexpected error in a batch (EX_SOFTWARE)
EXIT_BATCH_FAILED = 70


def _incoming(msg: Message) -> Incoming:
    return Incoming(
        topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        value=msg.value,
        timestamp=msg.timestamp,
    )


def create_app(settings: Settings, holder: ModelHolder | None = None) -> faust.App:
    """Build the worker app; nothing connects until the app starts."""
    holder = holder or ModelHolder(settings)
    metrics = WorkerMetrics()
    engine = Engine(
        window=settings.window,
        partitions=settings.partitions,
        limits=settings.decode_limits(),
        threshold_overrides={
            k: v
            for k, v in (
                ("review", settings.review_threshold),
                ("block", settings.block_threshold),
            )
            if v is not None
        },
    )
    # account profiles as objects between batches; emptied whenever partitions move
    profile_cache = ProfileCache(settings.profile_cache_size)
    settings.worker_data_dir.mkdir(parents=True, exist_ok=True)  # Faust makes only the leaf
    app = WorkerApp(
        settings.worker_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store=settings.store,
        datadir=str(settings.worker_data_dir),
        topic_partitions=settings.partitions,
        processing_guarantee=settings.processing_guarantee,
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=True,
        web_host="127.0.0.1",
        web_port=settings.web_port,
        web_in_thread=False,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_max_batch_size=PRODUCER_BATCH_BYTES,
        # Scores, alerts and table changelogs (an account profile is 3-4 KB; zstd wrote a
        # tenth of the bytes): the broker, which shares the host, validates and writes a
        # tenth (docs/BENCHMARKS.md, "Compressed record batches")
        producer_compression_type=compression_type(settings.producer_compression),
        broker_commit_interval=1.0,
        table_cleanup_interval=3600.0,
    )
    raw = {"key_type": bytes, "value_type": bytes, "key_serializer": "raw",
           "value_serializer": "raw"}  # fmt: skip
    events_topic = app.topic(Topic.TRANSACTIONS.value, Topic.LOGINS.value, **raw)
    feedback_topic = app.topic(Topic.FEEDBACK.value, **raw)
    # Scores and alerts bypass Faust's per-message send path: one record batch per
    # partition on the app's own producer (started with the app, so resolved per call)
    sender = BatchSender(lambda: app.producer._ensure_producer())

    stored = {"key_type": bytes, "value_type": bytes}  # bytes types = raw serialisers
    accounts = app.Table("accounts", partitions=settings.partitions, **stored)
    activity = app.Table("merchant-activity", partitions=settings.partitions, **stored)
    labels_topic = app.topic(Topic.MERCHANT_LABELS.value, **raw)
    # Written only by the owner of the merchant's labels partition; read by every worker
    # through its mirror of the changelog (docs/ARCHITECTURE.md, "Merchant state")
    risk = app.Table("merchant-risk", partitions=settings.partitions, **stored)
    mirror = RiskMirror(
        settings.kafka_bootstrap, risk.changelog_topic.get_topic_name(), settings.partitions
    )

    def _bkey(table: Any) -> _KeyView:
        return _KeyView(table)

    # Outputs a previous run sent for the uncommitted events of the assigned partitions,
    # read back before those events are processed (pipeline/worker/readback.py)
    inputs = {Topic.TRANSACTIONS.value, Topic.LOGINS.value, Topic.FEEDBACK.value}
    sent_before = _SentBefore()

    async def _on_assigned(sender_: Any, assigned: Any, **_: Any) -> None:
        profile_cache.clear()  # other workers may have moved these accounts on meanwhile
        sent_before.ready.clear()
        try:
            ours = sorted((tp.topic, tp.partition) for tp in assigned if tp.topic in inputs)
            try:
                emitted = await asyncio.get_running_loop().run_in_executor(
                    None,
                    lambda: read_back(
                        settings.kafka_bootstrap, settings.worker_id, ours,
                        margin_s=settings.readback_margin_s,
                        lookback_s=settings.readback_lookback_s,
                        max_records=settings.readback_max_records,
                    ),
                )  # fmt: skip
                metrics.readback_records.inc(emitted.records_read)
                sent_before.emitted = emitted
                (log.warning if emitted.until else log.info)(
                    "readback partitions=%d suspect=%d records=%d scores=%d dead_letters=%d "
                    "alerts_missing=%d seconds=%.2f",
                    len(ours), len(emitted.until), emitted.records_read, len(emitted.scores),
                    len(emitted.dead_letters), len(emitted.missing_alerts), emitted.seconds,
                )  # fmt: skip
            except Exception:  # at least once still holds: redelivered events may score twice
                log.exception("readback_failed: redelivered events are scored again")
                sent_before.emitted = Emitted()
            try:  # the output topics' partitions, before the first batch sends to them
                await sender.prepare(
                    [*OUTPUT_TOPICS]
                    + [t.changelog_topic.get_topic_name() for t in (accounts, activity)]
                )
            except Exception:  # only the first batch's latency is at stake
                log.exception("warm_up_failed: the first batch looks the partitions up")
        finally:
            sent_before.ready.set()

    app.on_partitions_assigned.connect(_on_assigned)

    async def _dead_letters(out: Outcome) -> list[Any]:
        futures = await sender.send(
            Topic.DEADLETTER.value,
            [
                (dead_letter_key(msg.topic, msg.partition, msg.offset), value)
                for msg, _, value in out.dead_letters
            ],
        )
        for msg, error_class, _value in out.dead_letters:
            metrics.dead_letters.labels(msg.topic, error_class).inc()
            metrics.events_out.labels(Topic.DEADLETTER.value).inc()
        return futures

    def _write(
        table: Any, writes: dict[str, bytes], prefix: str, out: Outcome, batch: Sequence[EventT]
    ) -> None:
        # Through Faust: store + one changelog send per key. A table write goes to the
        # changelog partition of the event being processed: point Faust's "current event" at
        # the message that last changed each key. (Merchant risk, a few writes per batch.)
        for key, value in writes.items():
            _set_current_event(batch[out.source[prefix + key]])
            table[key.encode()] = value

    def _store(
        table: Any, writes: dict[str, bytes], prefix: str, out: Outcome, batch: Sequence[Message]
    ) -> dict[int, list[tuple[bytes | None, bytes]]]:
        # The store directly (its database for the source message's partition); the
        # changelog records are returned per partition, for one record batch each.
        store = table.data
        rocksdb = isinstance(store, RocksDBStore)
        by_partition: dict[int, list[tuple[bytes | None, bytes]]] = {}
        for key, value in writes.items():
            partition, raw = batch[out.source[prefix + key]].partition, key.encode()
            if rocksdb:  # the partition's database, as Faust's own write would pick
                store._db_for_partition(partition).put(raw, value)
            else:  # one dict for all partitions
                store[raw] = value
            by_partition.setdefault(partition, []).append((raw, value))
        return by_partition

    async def _log(table: Any, by_partition: dict[int, list[tuple[bytes | None, bytes]]]) -> None:
        sent = await sender.send_partitioned(table.changelog_topic.get_topic_name(), by_partition)
        for batch_sent in sent:  # recovery starts after the last offset the store holds
            batch_sent.future.add_done_callback(lambda fut, s=batch_sent: _persisted(table, s, fut))

    @app.agent(events_topic)
    async def score_events(stream: faust.StreamT) -> None:
        # With the fetch loop's express lane on (the default), events never reach this
        # stream: the consumer hands them over in batches to ``score_messages``.
        async for batch in stream.take_events(settings.batch_max, settings.batch_within_ms / 1e3):
            messages = [event.message for event in batch]
            try:
                await _score(messages, "stream")
            except Exception as err:  # a bug, a send the broker refused: never ack the batch
                _fail_stop("score_events", messages, err)

    async def score_messages(messages: list[Message]) -> None:
        """The express lane's handler (:class:`~pipeline.worker.consumer.Express`): one
        batch of fetched events, scored; the consumer acknowledges them afterwards."""
        try:
            await _score(messages, "express")
        except Exception as err:  # as in the agent: the batch is never acknowledged
            _fail_stop("score_events", messages, err)

    if settings.express:
        app.express = Express(
            frozenset(events_topic.topics), score_messages, settings.batch_max
        )  # fmt: skip

    async def _score(batch: Sequence[Message], path: str) -> None:
        model = holder.model
        incoming = [_incoming(m) for m in batch]
        for msg in incoming:
            metrics.events_in.labels(msg.topic).inc()
        sent = await sent_before.get()
        hits, misses = profile_cache.hits, profile_cache.misses
        out = engine.score_batch(
            incoming, model, _bkey(accounts), _bkey(activity), mirror, sent, profile_cache
        )
        metrics.profile_cache.labels("hit").inc(profile_cache.hits - hits)
        metrics.profile_cache.labels("miss").inc(profile_cache.misses - misses)
        # outputs first, acknowledged by the broker, then the state that records them:
        # a crash in between replays the events, and the state says none was scored.
        resent = sent.alerts_for(out.already_scored) if sent is not None else []
        futures = await sender.send(Topic.SCORES.value, out.scores)
        futures += await sender.send(Topic.ALERTS.value, out.alerts + resent)
        futures += await _dead_letters(out)
        await delivered(futures)
        # Both stores are written before any await, so a crash cannot fall between an
        # account and the merchant velocity the same events moved; their changelog records
        # then go out as one record batch per partition (Faust's per-key sends cost twice
        # the CPU). Faust flushes the producer before it commits the input offsets.
        account_log = _store(accounts, out.accounts, "a:", out, batch)
        activity_log = _store(activity, out.activity, "m:", out, batch)
        await _log(accounts, account_log)
        await _log(activity, activity_log)
        metrics.events_out.labels(Topic.SCORES.value).inc(len(out.scores))
        metrics.events_out.labels(Topic.ALERTS.value).inc(len(out.alerts) + len(resent))
        metrics.redelivered.inc(out.redelivered)
        metrics.already_scored.inc(len(out.already_scored))
        metrics.alerts_resent.inc(len(resent))
        if sent is not None:
            sent.passed(incoming)
        metrics.batches.labels(path).inc()
        metrics.batch_size.observe(len(batch))
        for decision, n in out.decisions.items():
            metrics.decisions.labels(decision).inc(n)
        for stage, seconds in out.seconds.items():
            metrics.stage_seconds.labels(stage).inc(seconds)
        if out.scores:
            metrics.score_latency.observe(sum(out.seconds.values()))
        for lag in out.lags:
            metrics.e2e_lag.observe(lag)

    async def _each_batch(
        name: str,
        stream: faust.StreamT,
        handle: Callable[[Sequence[EventT], list[Incoming]], Awaitable[None]],
    ) -> None:
        # the feedback agents' loop: small batches, counted in, never acknowledged on failure
        async for batch in stream.take_events(settings.batch_max, 0.05):
            try:
                incoming = [_incoming(e.message) for e in batch]
                for msg in incoming:
                    metrics.events_in.labels(msg.topic).inc()
                await handle(batch, incoming)
            except Exception as err:
                _fail_stop(name, [e.message for e in batch], err)

    async def _route(batch: Sequence[EventT], incoming: list[Incoming]) -> None:
        sent = await sent_before.get()
        out, labels = engine.route_feedback(incoming, sent)
        futures = await _dead_letters(out)
        futures += await sender.send(Topic.MERCHANT_LABELS.value, labels)
        await delivered(futures)
        metrics.events_out.labels(Topic.MERCHANT_LABELS.value).inc(len(labels))
        if sent is not None:
            sent.passed(incoming)

    async def _apply(batch: Sequence[EventT], incoming: list[Incoming]) -> None:
        out, _valid = engine.apply_feedback(incoming, _bkey(risk))
        await delivered(await _dead_letters(out))
        _write(risk, out.risk, "r:", out, batch)

    @app.agent(feedback_topic)
    async def route_feedback(stream: faust.StreamT) -> None:
        # Feedback is keyed by account; a merchant's labels come from any partition. Each
        # one goes on, keyed by merchant, before the feedback is acknowledged.
        await _each_batch("route_feedback", stream, _route)

    @app.agent(labels_topic)
    async def apply_labels(stream: faust.StreamT) -> None:
        # A repeated label changes nothing (MerchantRisk counts each event once), so a
        # label forwarded twice after a crash needs no read-back.
        await _each_batch("apply_labels", stream, _apply)

    @app.task
    async def mirror_merchant_risk() -> None:
        await mirror.run()

    @app.task
    async def follow_model_updates() -> None:
        await holder.follow(app, metrics)

    @app.page("/health")
    async def health(web: Any, request: Any) -> Any:
        assigned = bool(app.consumer.assignment()) if app.consumer else False
        # events wait while a rebalance's table recovery holds the flow, and while the
        # outputs of the assigned partitions are read back
        flowing = app.flow_control.is_active() and not app.rebalancing
        reading_back = not sent_before.ready.is_set()
        mirrored = mirror.caught_up.is_set()
        ready = assigned and holder.loaded and flowing and not reading_back and mirrored
        metrics.ready.set(1 if ready else 0)
        body = {
            "ready": ready,
            "partitions_assigned": assigned,
            "flowing": flowing,
            "reading_back": reading_back,
            "merchant_risk_mirrored": mirrored,
            "model": holder.version,
        }
        return web.json(body, status=200 if ready else 503)

    @app.page("/merchant-risk/{merchant_id}")
    async def merchant_risk(web: Any, request: Any, merchant_id: str) -> Any:
        # this worker's copy of a merchant's label statistics (what its scores read)
        state = mirror.get(merchant_id)
        if state is None:
            return web.json({"merchant_id": merchant_id, "labels": 0}, status=404)
        body = {"merchant_id": merchant_id, "labels": state.labels, "frauds": state.frauds,
                "rate": state.rate}  # fmt: skip
        return web.json(body)

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        # aiohttp wants the charset apart from the media type
        return web.bytes(generate_latest(metrics.registry), content_type=METRICS_MEDIA_TYPE)

    app.fraudstream_metrics = metrics  # type: ignore[attr-defined]
    app.fraudstream_holder = holder  # type: ignore[attr-defined]
    return app


def changelog_topics(app: faust.App) -> list[str]:
    """The changelog topics of the app's tables (compacted; one per table)."""
    return sorted(table.changelog_topic.get_topic_name() for table in app.tables.values())


class _SentBefore:
    """The latest read-back; agents wait while one is being made."""

    def __init__(self) -> None:
        self.ready = asyncio.Event()
        self.ready.set()
        self.emitted = Emitted()

    async def get(self) -> Emitted | None:
        if not self.ready.is_set():
            await self.ready.wait()
        return self.emitted if self.emitted.until else None


class _KeyView:
    """Read a Faust table with str keys (the tables store raw bytes keys).

    A RocksDB store keeps one database per partition and, while an event is current, reads
    only the database of that event's partition. The engine reads the keys of a whole batch
    (from several partitions) while Faust's current event is just one of them, so reads are
    made with no current event: the store then finds the partition that holds the key.

    The engine names the partition where it knows it (:meth:`get_in`: an account's and a
    merchant velocity's key live in their source partition's database); on a RocksDB store
    that read goes to the database itself, past Faust's per-key (de)serialiser lookups,
    which cost as much as the rest of the state update.
    """

    __slots__ = ("_table",)

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, key: str, default: bytes | None = None) -> bytes | None:
        token = _current_event.set(None)
        try:
            store = self._table.data
            if isinstance(store, RocksDBStore):
                value = store._get(key.encode())  # raw bytes both ways: nothing to decode
            else:
                value = self._table.get(key.encode())
        finally:
            _current_event.reset(token)
        return default if value is None else value

    def get_in(self, partition: int, key: str) -> bytes | None:
        store = self._table.data
        if isinstance(store, RocksDBStore):
            return store._db_for_partition(partition).get(key.encode())
        return self.get(key)

    def __getitem__(self, key: str) -> bytes:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __iter__(self) -> Any:
        return (k.decode() for k in self._table)

    def __len__(self) -> int:
        return len(self._table)


def _fail_stop(agent: str, batch: Sequence[Message], err: BaseException) -> NoReturn:
    """End the process at once, as a crash would, on an unexpected error in a batch.

    Faust's ``take_events`` acknowledges a batch when the agent leaves it, even through an
    exception, and the supervisor restarts the agent on the next batch: the failed batch
    would be committed without Scores (or with Scores but without the state that records
    them) while /health still said ready. Exiting without acknowledging makes the batch
    come back after a restart; events the state already holds are skipped then.
    """
    first = batch[0] if batch else None
    log.critical(
        "batch_failed agent=%s events=%d first=%s exit=%d: exiting without acknowledging "
        "the batch; it is redelivered when the worker starts again",
        agent, len(batch),
        f"{first.topic}/{first.partition}@{first.offset}" if first else "-", EXIT_BATCH_FAILED,
        exc_info=err,
    )  # fmt: skip
    logging.shutdown()
    os._exit(EXIT_BATCH_FAILED)


def _persisted(table: Any, sent: Sent, fut: Any) -> None:
    """A changelog batch was acknowledged: its last offset is now in the store's records."""
    if not fut.cancelled() and fut.exception() is None:
        table.data.set_persisted_offset(TP(sent.topic, sent.partition), sent.last_offset())


def _set_current_event(event: EventT) -> None:
    _current_event.set(weakref.ref(event))  # the contextvar Faust reads on table writes
