"""Outputs as record batches: keyed like the Java client, one batch per partition, split
when full, every batch's delivery awaited."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from kafka.record import MemoryRecords

from pipeline.worker import sending
from pipeline.worker.exceptions import WorkerConfigError
from pipeline.worker.sending import BatchSender, compression_type, delivered


class FakeBatch:
    def __init__(self, room: int) -> None:
        self.records: list[tuple[bytes | None, bytes]] = []
        self.room, self.closed = room, False

    def append(self, *, key: bytes | None, value: bytes, timestamp: None) -> object | None:
        if self.closed or len(self.records) >= self.room:
            return None
        self.records.append((key, value))
        return object()

    def close(self) -> None:
        self.closed = True


class FakeProducer:
    """The slice of aiokafka's producer BatchSender uses; batches hold ``room`` records."""

    def __init__(self, partitions: int, room: int) -> None:
        self.partitions, self.room = partitions, room
        self.sent: list[tuple[str, int, FakeBatch]] = []

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(self.partitions))

    def create_batch(self) -> FakeBatch:
        return FakeBatch(self.room)

    async def send_batch(self, batch: FakeBatch, topic: str, *, partition: int) -> Any:
        assert batch.closed, "a batch is closed before it is handed over"
        self.sent.append((topic, partition, batch))
        future = asyncio.get_running_loop().create_future()
        future.set_result(len(self.sent))
        return future


def test_keys_land_where_a_keyed_send_would_and_full_batches_split() -> None:
    producer = FakeProducer(partitions=4, room=3)
    messages = [(f"event-{i}".encode(), f"v{i}".encode()) for i in range(40)]

    async def run() -> list[Any]:
        sent = await BatchSender(lambda: producer).send("scores", messages)
        await delivered(sent)
        return sent

    sent = asyncio.run(run())
    assert len(sent) == len(producer.sent) and all(s.future.done() for s in sent)
    placed = {k: p for _, p, b in producer.sent for k, _ in b.records}
    expected = DefaultPartitioner()
    assert placed == {k: expected(k, [0, 1, 2, 3], [0, 1, 2, 3]) for k, _ in messages}
    assert all(len(b.records) <= 3 for _, _, b in producer.sent)
    assert sorted(r for _, _, b in producer.sent for r in b.records) == sorted(messages)
    assert sum(s.count for s in sent) == 40


def test_a_message_too_big_for_an_empty_batch_is_refused_with_the_way_out() -> None:
    producer = FakeProducer(partitions=1, room=0)
    with pytest.raises(ValueError, match="max_batch_size"):
        asyncio.run(BatchSender(lambda: producer).send("scores", [(b"k", b"v")]))
    assert producer.sent == []  # no empty batch went out


def test_nothing_to_send_sends_nothing() -> None:
    producer = FakeProducer(partitions=2, room=3)
    assert asyncio.run(BatchSender(lambda: producer).send("scores", [])) == []
    assert producer.sent == []


def test_prepare_learns_the_partitions_once_before_any_send() -> None:
    producer = FakeProducer(partitions=3, room=10)
    asked: list[str] = []
    real = producer.partitions_for

    async def counting(topic: str) -> set[int]:
        asked.append(topic)
        return await real(topic)

    producer.partitions_for = counting  # type: ignore[method-assign]

    async def main() -> None:
        sender = BatchSender(lambda: producer)
        await sender.prepare(["scores", "alerts"])
        assert asked == ["scores", "alerts"] and producer.sent == []
        await delivered(await sender.send("scores", [(b"k", b"v")]))
        assert asked == ["scores", "alerts"]  # known already: no second lookup

    asyncio.run(main())


# ---- compression ------------------------------------------------------------------------


def test_the_compression_setting_names_the_producers_codec() -> None:
    assert compression_type("zstd") == "zstd"
    assert compression_type("lz4") == "lz4"
    assert compression_type("none") is None


def test_an_unknown_codec_is_refused_in_one_line() -> None:
    with pytest.raises(WorkerConfigError, match="not a codec; choose one of gzip, snappy"):
        compression_type("brotli")


def test_a_codec_without_its_library_is_refused_before_the_worker_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sending._CODECS, "zstd", lambda: False)
    with pytest.raises(WorkerConfigError, match=r"\(cramjam\) is not installed"):
        compression_type("zstd")


@pytest.mark.parametrize("codec", ["zstd", "lz4", "snappy", "gzip"])
def test_a_compressed_record_batch_of_the_worker_reads_back_with_kafka_python(codec: str) -> None:
    """What the worker writes (aiokafka's record-batch builder, its codec from cramjam) the
    project's kafka-python consumers (analysts, store, bench read-back) can decompress."""
    records = [(f"event-{i}".encode(), bytes([i % 7]) * (200 + i)) for i in range(50)]
    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=getattr(DefaultRecordBatch, f"CODEC_{codec.upper()}"),
        is_transactional=0,
        producer_id=-1,
        producer_epoch=-1,
        base_sequence=-1,
        batch_size=1_000_000,
    )
    for offset, (key, value) in enumerate(records):
        assert builder.append(offset, timestamp=None, key=key, value=value, headers=[])
    data = bytes(builder.build())
    assert len(data) < sum(len(v) for _, v in records) // 4  # it did compress
    batch = MemoryRecords(data).next_batch()
    assert batch is not None
    assert [(r.key, r.value) for r in batch] == records
