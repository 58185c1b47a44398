"""The analyst team on the real broker: verdicts on alerts, chargebacks on missed frauds."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from pipeline.analysts import AnalystsConfig
from pipeline.analysts.runner import AnalystsRunner
from pipeline.kafka import create_topics
from pipeline.simulator import HEADER_IS_FRAUD, HEADER_SCENARIO
from schemas import (
    ALL_TOPICS,
    Channel,
    Decision,
    Feedback,
    FeedbackSource,
    Label,
    Score,
    Topic,
    Transaction,
    decode,
    encode,
)
from tests.integration.polling import poll_until

pytestmark = pytest.mark.integration


def _transaction(event_id: str, ts: datetime) -> Transaction:
    return Transaction(
        event_id=event_id,
        account_id=f"acc-{event_id}",
        ts=ts,
        amount=Decimal("99.90"),
        currency="EUR",
        merchant_id=f"m-{event_id}",
        channel=Channel.POS,
    )


def _score(event: Transaction, decision: Decision) -> Score:
    return Score(
        event_id=event.event_id,
        account_id=event.account_id,
        event_type="transaction",
        fraud_score=0.05 if decision is Decision.ALLOW else 0.9,
        anomaly_score=1.0,
        decision=decision,
        reasons=[],
        model_version="test",
        latency_ms=0.5,
        scored_at=event.ts + timedelta(seconds=1),
        event_ts=event.ts,
    )


def _end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        parts = poll_until(lambda: consumer.partitions_for_topic(topic), message=topic)
        return dict(consumer.end_offsets([TopicPartition(topic, p) for p in sorted(parts)]))
    finally:
        consumer.close()


def test_team_answers_alerts_within_capacity_and_charges_back_missed_frauds(
    kafka_bootstrap: str,
) -> None:
    create_topics(kafka_bootstrap, topics=ALL_TOPICS)
    run = uuid.uuid4().hex[:8]
    config = AnalystsConfig(
        analysts=1,
        capacity=3,
        error_rate=0.0,
        review_delay_s=(0.1, 0.3),
        chargeback_delay_s=0.5,
        group_id=f"test-analysts-{run}",
    )
    runner = AnalystsRunner(config, kafka_bootstrap)
    stop, ready = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    def work() -> None:
        try:
            runner.run(stop, ready)
        except BaseException as err:  # surfaced by the assertions below
            failed.append(err)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    try:
        poll_until(lambda: ready.is_set() or failed, timeout=60, message="analyst team assigned")
        assert not failed, failed
        start = _end_offsets(kafka_bootstrap, Topic.FEEDBACK.value)

        ts = datetime.now(UTC) - timedelta(hours=1)
        truth = {f"a{run}-{i}": i < 3 for i in range(6)}  # three frauds, three genuine
        events = {eid: _transaction(eid, ts + timedelta(seconds=i)) for i, eid in enumerate(truth)}
        ids = list(truth)
        alerted = ids[:2] + ids[3:5]  # two frauds and two genuine alerted; capacity 3
        missed, allowed_genuine = ids[2], ids[5]
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        try:
            for eid, event in events.items():
                headers = [(HEADER_IS_FRAUD, b"1" if truth[eid] else b"0")]
                if truth[eid]:
                    headers.append((HEADER_SCENARIO, b"card_testing"))
                producer.send(
                    Topic.TRANSACTIONS.value,
                    key=event.account_id.encode(),
                    value=encode(event),
                    headers=headers,
                )
            for eid in alerted:
                alert = encode(_score(events[eid], Decision.BLOCK))
                producer.send(Topic.SCORES.value, key=eid.encode(), value=alert)
                producer.send(Topic.ALERTS.value, key=eid.encode(), value=alert)
            for eid in (missed, allowed_genuine):
                allowed = encode(_score(events[eid], Decision.ALLOW))
                producer.send(Topic.SCORES.value, key=eid.encode(), value=allowed)
            producer.flush(timeout=30)
        finally:
            producer.close(timeout=10)

        reader = KafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
        reader.assign(list(start))
        for tp, offset in start.items():
            reader.seek(tp, offset)
        labels: dict[str, tuple[bytes, Feedback]] = {}

        def four_labels() -> bool:
            for batch in reader.poll(timeout_ms=300).values():
                for record in batch:
                    label = decode(Feedback, record.value)
                    if label.event_id in truth:
                        labels[label.event_id] = (record.key, label)
            return len(labels) >= 4

        try:
            poll_until(four_labels, timeout=60, interval=0, message="3 verdicts + 1 chargeback")
        finally:
            reader.close()
    finally:
        stop.set()
        worker.join(timeout=30)

    assert not failed, failed
    verdicts = {eid: fb for eid, (_, fb) in labels.items() if fb.source is FeedbackSource.ANALYST}
    assert len(verdicts) == 3 and set(verdicts) <= set(alerted)
    for eid, fb in verdicts.items():
        assert fb.label is (Label.FRAUD if truth[eid] else Label.GENUINE)
        assert fb.analyst_id == "analyst-001" and fb.merchant_id == f"m-{eid}"
    key, chargeback = labels[missed]
    assert chargeback.source is FeedbackSource.CHARGEBACK and chargeback.label is Label.FRAUD
    assert key == f"acc-{missed}".encode() and allowed_genuine not in labels
    assert runner.team.stats["unreviewed"] == 1 and runner.team.stats["missed_frauds"] == 1
