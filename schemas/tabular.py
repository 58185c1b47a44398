"""Polars schemas of the Parquet datasets, derived from the record models.

The offline event log holds transactions and logins in one table (``event_type`` tells them
apart); the simulator adds its ground truth (``is_fraud``, ``fraud_scenario``). Decimal
amounts become Float64 here: the tabular side is for features and training, where a float
is what every consumer wants, while the wire format keeps the exact decimal.
"""

from __future__ import annotations

import types
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Literal, Union, get_args, get_origin

import polars as pl

from schemas.records import Feedback, Login, Record, Transaction

#: columns of the event log that are not fields of a record
EVENT_TYPE_COLUMN = "event_type"
TRUTH_COLUMNS: dict[str, pl.DataType] = {
    "is_fraud": pl.Boolean(),
    "fraud_scenario": pl.String(),
}
#: feedback columns added after the first layout of the store: files written before lack
#: them, and every reader takes a missing one as null
ADDED_FEEDBACK_COLUMNS: tuple[str, ...] = ("fraud_type",)


def _base_type(annotation: Any) -> Any:
    """Strip Optional/Annotated wrappers down to the Python type."""
    while True:
        origin = get_origin(annotation)
        if origin is None:
            return annotation
        if origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            annotation = args[0]
            continue
        if origin is list:
            return list
        if origin is dict:
            return dict
        if origin is Literal:
            return str
        annotation = get_args(annotation)[0]  # typing.Annotated


def _polars_type(annotation: Any) -> pl.DataType:
    base = _base_type(annotation)
    if base is datetime:
        return pl.Datetime("us", "UTC")
    if base is bool:
        return pl.Boolean()
    if base is int:
        return pl.Int64()
    if base in (float, Decimal):
        return pl.Float64()
    if base is list:
        return pl.List(pl.String())
    if isinstance(base, type) and issubclass(base, Enum | str):
        return pl.String()
    return pl.String()


def polars_schema(record_type: type[Record]) -> dict[str, pl.DataType]:
    """Column name -> polars dtype for every field of ``record_type``."""
    return {name: _polars_type(f.annotation) for name, f in record_type.model_fields.items()}


def event_log_schema(with_truth: bool = True) -> dict[str, pl.DataType]:
    """The unified transaction + login event log (shared fields appear once)."""
    schema: dict[str, pl.DataType] = {EVENT_TYPE_COLUMN: pl.String()}
    for record_type in (Transaction, Login):
        for name, dtype in polars_schema(record_type).items():
            if name in schema and schema[name] != dtype:
                raise TypeError(f"field {name} has different types in Transaction and Login")
            schema.setdefault(name, dtype)
    if with_truth:
        schema.update(TRUTH_COLUMNS)
    return schema


def feedback_schema() -> dict[str, pl.DataType]:
    return polars_schema(Feedback)
