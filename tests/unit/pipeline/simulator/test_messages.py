"""Kafka messages (no broker): topics, keys, truth headers, order, and malformed ones."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from pipeline.simulator import (
    HEADER_IS_FRAUD,
    HEADER_SCENARIO,
    MalformedKind,
    MessageStream,
    event_record,
    malform,
)
from pipeline.simulator.malformed import HEADER, TRANSACTION_ONLY
from schemas import (
    RECORD_BY_TOPIC,
    InvalidRecordError,
    Login,
    Transaction,
    decode,
    to_json_obj,
)
from tests.unit.pipeline.simulator.conftest import Run


def _messages(run: Run, rate: float) -> tuple[MessageStream, list]:
    stream = MessageStream(run.config.events, rate, np.random.default_rng(3))
    return stream, [m for day in run.days for m in stream.day(day)]


def test_valid_messages_decode_and_carry_truth_only_in_headers(small_run: Run) -> None:
    stream, messages = _messages(small_run, 0.0)
    assert stream.counts["transaction"] + stream.counts["login"] == small_run.config.events
    assert stream.counts["feedback"] == small_run.feedback.height
    truth = dict(small_run.events.select("event_id", "fraud_scenario").iter_rows())
    for m in messages:
        record = decode(RECORD_BY_TOPIC[m.topic], m.value)
        assert m.key == record.account_id.encode()
        headers = dict(m.headers)
        if m.kind == "feedback":
            assert headers == {}
            continue
        scenario = truth[record.event_id]
        assert headers[HEADER_IS_FRAUD] == (b"1" if scenario else b"0")
        assert headers.get(HEADER_SCENARIO) == (scenario.encode() if scenario else None)
        if scenario:
            assert scenario.encode() not in m.value


def test_messages_are_in_time_order(small_run: Run) -> None:
    _, messages = _messages(small_run, 0.0)
    times = [decode(RECORD_BY_TOPIC[m.topic], m.value).ts for m in messages]
    assert times == sorted(times)


def test_malformed_messages_are_extra_all_rejected_and_tagged(small_run: Run) -> None:
    rate = 0.01
    stream, messages = _messages(small_run, rate)
    bad = [m for m in messages if m.kind == "malformed"]
    good = [m for m in messages if m.kind != "malformed"]
    assert len(bad) == round(small_run.config.events * rate)
    assert len(good) == small_run.config.events + small_run.feedback.height
    assert {dict(m.headers)[HEADER].decode() for m in bad} == {k.value for k in MalformedKind}
    assert sum(stream.malformed.values()) == len(bad)
    for m in bad:
        assert m.topic in (Transaction.topic, Login.topic)
        with pytest.raises(InvalidRecordError) as err:
            decode(RECORD_BY_TOPIC[m.topic], m.value)
        assert err.value.reason
    for m in good:
        decode(RECORD_BY_TOPIC[m.topic], m.value)


CASES = [
    (kind, record_type)
    for kind in MalformedKind
    for record_type in (Transaction, Login)
    if not (kind in TRANSACTION_ONLY and record_type is Login)  # logins have no amount
]


@pytest.mark.parametrize(("kind", "record_type"), CASES)
def test_every_malformed_kind_is_rejected_with_a_reason(
    small_run: Run, kind: MalformedKind, record_type: type
) -> None:
    event_type = "transaction" if record_type is Transaction else "login"
    rows = small_run.events.filter(small_run.events["event_type"] == event_type).head(20)
    rng = np.random.default_rng(0)
    for row in rows.iter_rows(named=True):
        obj = to_json_obj(event_record(row))
        raw = malform(kind, obj, record_type, rng)
        with pytest.raises(InvalidRecordError) as err:
            decode(record_type, raw)
        assert err.value.reason and err.value.error_class


def test_malformed_variants_differ_from_the_valid_message(small_run: Run) -> None:
    row = small_run.events.filter(small_run.events["event_type"] == "transaction").row(
        0, named=True
    )
    obj = to_json_obj(event_record(row))
    valid = orjson.dumps(obj)
    rng = np.random.default_rng(0)
    assert len(malform(MalformedKind.OVERSIZED, obj, Transaction, rng)) > 64 * 1024
    assert all(malform(k, obj, Transaction, rng) != valid for k in MalformedKind)
