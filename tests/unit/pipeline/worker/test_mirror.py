"""A worker's copy of the merchant risk table, applied record by record (no broker here:
the two-worker end-to-end test follows the real changelog)."""

from __future__ import annotations

import orjson

from models.features import MerchantRisk, risk_to_bytes
from pipeline.worker.mirror import RiskMirror


def _risk(frauds: int, genuine: int) -> MerchantRisk:
    risk = MerchantRisk()
    for i in range(frauds + genuine):
        risk.add_label(f"ev-{i}", i < frauds)
    return risk


def test_the_copy_keeps_the_last_value_of_each_merchant_without_its_event_ids() -> None:
    mirror = RiskMirror("unused:9092", "t-merchant-risk-changelog", 4)
    mirror.apply(b"m1", risk_to_bytes(_risk(1, 3)))
    mirror.apply(b"m2", risk_to_bytes(_risk(0, 2)))
    mirror.apply(b"m1", risk_to_bytes(_risk(2, 3)))  # a later write of the same merchant wins
    kept = mirror.get("m1")
    assert kept is not None
    assert (kept.frauds, kept.labels, kept.labelled) == (2, 5, {})
    assert kept.rate == _risk(2, 3).rate
    assert len(mirror) == 2 and mirror.records == 3
    mirror.apply(b"m2", None)  # a deletion
    assert mirror.get("m2") is None and len(mirror) == 1


def test_an_unreadable_record_leaves_the_merchant_as_it_was() -> None:
    mirror = RiskMirror("unused:9092", "t-merchant-risk-changelog", 4)
    mirror.apply(b"m1", risk_to_bytes(_risk(1, 1)))
    before = mirror.get("m1")
    mirror.apply(b"m1", b"not json")
    mirror.apply(b"m1", orjson.dumps({"unknown": 1}))
    assert mirror.get("m1") is before
