"""Ground truth comes from the simulator's headers, never from the record."""

from __future__ import annotations

from pipeline.analysts import TruthMap, truth_of
from pipeline.simulator import HEADER_IS_FRAUD, HEADER_SCENARIO
from tests.unit.pipeline.store.records import login, transaction


def test_truth_is_read_from_headers() -> None:
    headers = [(HEADER_IS_FRAUD, b"1"), (HEADER_SCENARIO, b"account_takeover")]
    truth = truth_of(transaction("t1"), headers)
    assert truth is not None and truth.is_fraud and truth.scenario == "account_takeover"
    assert truth.merchant_id == "m-1" and truth.channel is not None
    genuine = truth_of(login("l1"), [(HEADER_IS_FRAUD, b"0")])
    assert genuine is not None and not genuine.is_fraud and genuine.channel is None
    assert truth_of(transaction("t2"), []) is None
    assert truth_of(transaction("t3"), [(HEADER_IS_FRAUD, b"yes")]) is None


def test_truth_map_keeps_the_most_recent() -> None:
    truths = TruthMap(capacity=2)
    for event_id in ("a", "b", "c"):
        found = truth_of(transaction(event_id), [(HEADER_IS_FRAUD, b"0")])
        assert found is not None
        truths.add(found)
    assert truths.get("a") is None and truths.get("c") is not None and len(truths) == 2
