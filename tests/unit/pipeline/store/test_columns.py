"""The store's columns come from schemas, not from a list typed here."""

from __future__ import annotations

from pipeline.store import EVENT_SCHEMA, FEEDBACK_SCHEMA, SCORE_COLUMNS
from schemas import Score
from schemas.tabular import event_log_schema, feedback_schema, polars_schema


def test_event_columns_are_the_event_log_plus_the_score_the_model_gave() -> None:
    base = event_log_schema(with_truth=False)
    assert list(EVENT_SCHEMA)[: len(base)] == list(base)
    assert {k: EVENT_SCHEMA[k] for k in base} == base
    score = polars_schema(Score)
    assert {k: EVENT_SCHEMA[k] for k in SCORE_COLUMNS} == {k: score[k] for k in SCORE_COLUMNS}
    assert "is_fraud" not in EVENT_SCHEMA
    assert feedback_schema() == FEEDBACK_SCHEMA
