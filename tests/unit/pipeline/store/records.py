"""Small records and messages for the store's unit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count

from pipeline.store import Message
from schemas import (
    Channel,
    Decision,
    Feedback,
    FeedbackSource,
    Label,
    Login,
    Record,
    Score,
    Topic,
    Transaction,
    encode,
)

DAY = datetime(2024, 3, 1, 12, tzinfo=UTC)
_offsets = count()


def transaction(event_id: str, ts: datetime = DAY, account: str = "acc-1") -> Transaction:
    return Transaction(
        event_id=event_id,
        account_id=account,
        ts=ts,
        amount=Decimal("42.50"),
        currency="EUR",
        merchant_id="m-1",
        channel=Channel.ECOM,
        country="FR",
    )


def login(event_id: str, ts: datetime = DAY) -> Login:
    return Login(event_id=event_id, account_id="acc-1", ts=ts, success=True, device_id="d-1")


def score(
    event_id: str,
    decision: Decision = Decision.ALLOW,
    fraud: float = 0.1,
    event_ts: datetime | None = DAY,
    event_type: str = "transaction",
    version: str = "v1",
) -> Score:
    return Score(
        event_id=event_id,
        account_id="acc-1",
        event_type=event_type,
        fraud_score=fraud,
        anomaly_score=0.5,
        decision=decision,
        reasons=[],
        model_version=version,
        latency_ms=0.3,
        scored_at=(event_ts or DAY) + timedelta(seconds=1),
        event_ts=event_ts,
    )


def feedback(
    event_id: str,
    label: Label = Label.FRAUD,
    source: FeedbackSource = FeedbackSource.CHARGEBACK,
    ts: datetime = DAY + timedelta(days=3),
) -> Feedback:
    return Feedback(event_id=event_id, account_id="acc-1", ts=ts, label=label, source=source)


def message(record: Record, partition: int = 0, offset: int | None = None) -> Message:
    topic = Topic.SCORES.value if isinstance(record, Score) else record.topic
    return Message(topic, partition, next(_offsets) if offset is None else offset, encode(record))


def raw(topic: str, value: bytes, partition: int = 0) -> Message:
    return Message(topic, partition, next(_offsets), value)
