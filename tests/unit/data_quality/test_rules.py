"""The column rules come from the record models: nothing about a column is retyped."""

from __future__ import annotations

from data_quality.rules import (
    FLOAT_MAX,
    categorical_fields,
    decimal_fields,
    event_rules,
    feedback_rules,
)
from schemas import Channel, FeedbackSource, Label, Login, Transaction
from schemas.tabular import TRUTH_COLUMNS, event_log_schema, feedback_schema


def test_every_schema_column_has_a_rule_with_its_polars_dtype() -> None:
    assert {r.column: r.dtype for r in event_rules()} == event_log_schema(with_truth=True)
    assert {r.column: r.dtype for r in feedback_rules()} == feedback_schema()
    assert {r.column for r in event_rules() if not r.mandatory} == set(TRUTH_COLUMNS)


def test_required_fields_follow_each_record_type() -> None:
    rules = {r.column: r for r in event_rules()}
    assert rules["event_id"].required and rules["event_id"].required_for is None
    assert rules["amount"].required_for == (Transaction.event_type,)
    assert rules["success"].required_for == (Login.event_type,)
    assert not rules["card_id"].required and not rules["country"].required


def test_value_constraints_come_from_the_json_schema() -> None:
    rules = {r.column: r for r in event_rules()}
    ((amount, scope),) = rules["amount"].values
    assert (amount.minimum, amount.maximum) == (0.0, FLOAT_MAX)  # >= 0 and finite
    assert scope == (Transaction.event_type,)
    ((channel, _),) = rules["channel"].values
    assert set(channel.allowed or ()) == {c.value for c in Channel}
    ((currency, _),) = rules["currency"].values
    assert currency.pattern == Transaction.model_json_schema()["properties"]["currency"]["pattern"]
    ((lat, _),) = rules["lat"].values
    assert (lat.minimum, lat.maximum) == (-90.0, 90.0)
    feedback = {r.column: r for r in feedback_rules()}
    assert set(feedback["label"].values[0][0].allowed or ()) == {x.value for x in Label}
    assert set(feedback["source"].values[0][0].allowed or ()) == {x.value for x in FeedbackSource}


def test_drift_fields_are_derived() -> None:
    assert decimal_fields() == ("amount",)
    assert {"event_type", "channel", "country", "currency"} == set(categorical_fields())
