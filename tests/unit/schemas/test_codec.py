"""The door: which messages decode, which are rejected, and with what reason."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest

from schemas import (
    DeadLetter,
    DecodeLimits,
    Feedback,
    InvalidRecordError,
    Login,
    ModelUpdate,
    Score,
    TimeBounds,
    Transaction,
    dead_letter,
    decode,
    encode,
)

TX = {
    "event_id": "tx-1",
    "account_id": "acc-1",
    "ts": "2024-03-01T12:00:00Z",
    "amount": "19.99",
    "currency": "EUR",
    "merchant_id": "m-1",
    "channel": "ecom",
}
LOGIN = {"event_id": "lg-1", "account_id": "acc-1", "ts": 1709294400, "success": False}
FEEDBACK = {
    "event_id": "tx-1",
    "account_id": "acc-1",
    "ts": "2024-03-09T00:00:00+02:00",
    "label": "fraud",
    "source": "chargeback",
}


def raw(obj: object) -> bytes:
    return orjson.dumps(obj)


def test_valid_transaction_round_trips() -> None:
    tx = decode(Transaction, raw(TX))
    assert tx.amount == Decimal("19.99")
    assert tx.ts == datetime(2024, 3, 1, 12, tzinfo=UTC)
    assert decode(Transaction, encode(tx)) == tx


def test_login_epoch_seconds_and_feedback_offset_become_utc() -> None:
    assert decode(Login, raw(LOGIN)).ts == datetime(2024, 3, 1, 12, tzinfo=UTC)
    fb = decode(Feedback, raw(FEEDBACK))
    assert fb.ts == datetime(2024, 3, 8, 22, tzinfo=UTC)
    assert fb.fraud_type is None  # labels from before the field existed still decode
    typed = decode(Feedback, raw({**FEEDBACK, "fraud_type": "account_takeover"}))
    assert typed.fraud_type == "account_takeover" and decode(Feedback, encode(typed)) == typed


def test_naive_timestamp_is_read_as_utc() -> None:
    tx = decode(Transaction, raw({**TX, "ts": "2024-03-01T12:00:00"}))
    assert tx.ts.tzinfo is UTC


def test_numeric_amount_and_unknown_fields_accepted() -> None:
    tx = decode(Transaction, raw({**TX, "amount": 12.5, "loyalty_tier": "gold", "x": [1]}))
    assert tx.amount == Decimal("12.5")
    assert not hasattr(tx, "loyalty_tier")


def test_historical_replay_passes_default_bounds() -> None:
    assert decode(Transaction, raw({**TX, "ts": "1999-12-31T23:59:59Z"})).ts.year == 1999


@pytest.mark.parametrize(
    ("record_type", "payload", "needle"),
    [
        (Transaction, {k: v for k, v in TX.items() if k != "amount"}, "amount: required field"),
        (Transaction, {k: v for k, v in TX.items() if k != "event_id"}, "event_id: required"),
        (Transaction, {**TX, "amount": "-0.01"}, "amount: Input should be greater than"),
        (Transaction, {**TX, "amount": "NaN"}, "amount"),
        (Transaction, {**TX, "amount": "Infinity"}, "amount"),
        (Transaction, {**TX, "amount": "twelve"}, "amount"),
        (Transaction, {**TX, "currency": "eu"}, "currency"),
        (Transaction, {**TX, "currency": "EURO"}, "currency"),
        (Transaction, {**TX, "event_id": ""}, "event_id"),
        (Transaction, {**TX, "event_id": "x" * 129}, "event_id"),
        (Transaction, {**TX, "account_id": 12}, "account_id"),
        (Transaction, {**TX, "channel": "carrier-pigeon"}, "channel"),
        (Transaction, {**TX, "ts": "2999-01-01T00:00:00Z"}, "future"),
        (Transaction, {**TX, "ts": "1950-01-01T00:00:00Z"}, "before"),
        (Transaction, {**TX, "ts": "yesterday"}, "ts"),
        (Transaction, {**TX, "ts": True}, "ts"),
        (Transaction, {**TX, "ts": 1e18}, "out of range"),
        (Transaction, {**TX, "lat": 91}, "lat"),
        (Transaction, {**TX, "country": "France"}, "country"),
        (Login, {k: v for k, v in LOGIN.items() if k != "success"}, "success: required"),
        (Login, {**LOGIN, "success": "maybe"}, "success"),
        (Feedback, {**FEEDBACK, "label": "suspicious"}, "label"),
        (Feedback, {**FEEDBACK, "source": "psychic"}, "source"),
        (Feedback, {**FEEDBACK, "label": "genuine", "fraud_type": "ato"}, "on a genuine label"),
    ],
)
def test_invalid_records_are_rejected_with_a_reason(
    record_type: type, payload: dict, needle: str
) -> None:
    with pytest.raises(InvalidRecordError) as info:
        decode(record_type, raw(payload))
    assert info.value.error_class == "invalid"
    assert needle in info.value.reason
    assert record_type.__name__ in info.value.reason


@pytest.mark.parametrize(
    ("data", "error_class"),
    [
        (b"", "empty"),
        (None, "empty"),
        (b"{not json", "not_json"),
        (b"\xff\xfe\x00", "not_json"),
        (b'{"event_id": "tx-1"', "not_json"),
        (b"[1, 2, 3]", "not_object"),
        (b'"a string"', "not_object"),
        (b"42", "not_object"),
        (b"null", "not_object"),
    ],
)
def test_undecodable_bytes_are_rejected(data: bytes | None, error_class: str) -> None:
    with pytest.raises(InvalidRecordError) as info:
        decode(Transaction, data)
    assert info.value.error_class == error_class
    assert info.value.reason


def test_payload_size_cap() -> None:
    big = raw({**TX, "note": "x" * 70_000})
    with pytest.raises(InvalidRecordError) as info:
        decode(Transaction, big)
    assert info.value.error_class == "too_large"
    assert decode(Transaction, big, DecodeLimits(max_payload_bytes=1 << 20)).event_id == "tx-1"


def test_time_bounds_are_configurable() -> None:
    now = datetime(2024, 3, 1, tzinfo=UTC)
    limits = DecodeLimits(time_bounds=TimeBounds(now=now, max_future=timedelta(hours=1)))
    with pytest.raises(InvalidRecordError, match="future"):
        decode(Transaction, raw(TX), limits)
    limits = DecodeLimits(time_bounds=TimeBounds(earliest=datetime(2025, 1, 1, tzinfo=UTC)))
    with pytest.raises(InvalidRecordError, match="before"):
        decode(Transaction, raw(TX), limits)


def test_dead_letter_keeps_bytes_reason_and_coordinates() -> None:
    bad = b'{"amount": -1}'
    with pytest.raises(InvalidRecordError) as info:
        decode(Transaction, bad)
    dl = dead_letter(bad, info.value, topic="fraud.transactions.v1", partition=2, offset=41)
    assert base64.b64decode(dl.raw) == bad
    assert (dl.source_topic, dl.source_partition, dl.source_offset) == (
        "fraud.transactions.v1",
        2,
        41,
    )
    assert dl.error_class == "invalid" and "amount" in dl.message
    assert decode(DeadLetter, encode(dl)) == dl


def test_output_records_round_trip() -> None:
    now = datetime(2024, 3, 1, tzinfo=UTC)
    score = Score(
        event_id="tx-1",
        account_id="acc-1",
        event_type="transaction",
        fraud_score=0.93,
        anomaly_score=2.5,
        decision="block",
        reasons=["amount_vs_history", "new_device"],
        model_version="v3",
        latency_ms=0.4,
        scored_at=now,
    )
    assert decode(Score, encode(score)) == score
    update = ModelUpdate(version="v3", uri="file:///r/v3", sha256="a" * 64, promoted_at=now)
    assert decode(ModelUpdate, encode(update)) == update
    with pytest.raises(InvalidRecordError, match="fraud_score"):
        decode(Score, raw({**orjson.loads(encode(score)), "fraud_score": 1.5}))
