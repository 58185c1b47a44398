"""Column rules of the two datasets, derived from the record models (never retyped).

Each column of ``schemas.tabular.event_log_schema()`` / ``feedback_schema()`` gets:

- its polars dtype (the type check of every file),
- the event types for which it must not be null (the models' required fields: ``amount``
  is required of a transaction, not of a login),
- the constraints on its non-null values, read from the models' JSON Schema: numeric bounds
  (and finiteness), regex patterns, string lengths, enum members.

The event log holds several record types in one table; a constraint that differs between
them applies only to the rows of the types that declare it (``event_type`` tells them apart).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, get_args

import polars as pl

from schemas.records import RECORD_TYPES, EventRecord, Feedback, Record
from schemas.tabular import (
    ADDED_FEEDBACK_COLUMNS,
    EVENT_TYPE_COLUMN,
    TRUTH_COLUMNS,
    event_log_schema,
    feedback_schema,
    polars_schema,
)

#: largest finite float64: a "finite" bound that infinity fails
FLOAT_MAX = 1.7976931348623157e308


@dataclass(frozen=True, slots=True)
class ValueRule:
    """Constraints on the non-null values of one column (None: no constraint)."""

    minimum: float | None = None
    maximum: float | None = None
    strict_minimum: bool = False
    strict_maximum: bool = False
    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    allowed: tuple[str, ...] | None = None

    @property
    def has_range(self) -> bool:
        return self.minimum is not None or self.maximum is not None

    @property
    def has_lengths(self) -> bool:
        return self.min_length is not None or self.max_length is not None


@dataclass(frozen=True, slots=True)
class ColumnRule:
    """What one column of a dataset must satisfy.

    ``required_for`` and the scopes in ``values`` are event types; None means every row.
    """

    column: str
    dtype: pl.DataType
    #: the column must exist in every file (ground truth and later feedback columns need not)
    mandatory: bool
    required: bool
    required_for: tuple[str, ...] | None
    values: tuple[tuple[ValueRule, tuple[str, ...] | None], ...]

    @property
    def is_time(self) -> bool:
        return isinstance(self.dtype, pl.Datetime)


def event_record_types() -> tuple[type[EventRecord], ...]:
    """The record types that share the event log (transactions and logins)."""
    return tuple(
        cls
        for cls in RECORD_TYPES.values()
        if isinstance(cls, type) and issubclass(cls, EventRecord)
    )


def _branch_rule(branch: dict[str, Any], defs: dict[str, Any], dtype: pl.DataType) -> ValueRule:
    if "$ref" in branch:
        branch = defs[branch["$ref"].rsplit("/", 1)[-1]]
    if "enum" in branch or "const" in branch:
        values = branch.get("enum", [branch.get("const")])
        return ValueRule(allowed=tuple(str(v) for v in values))
    kind = branch.get("type")
    if kind in ("number", "integer") and dtype.is_numeric():
        minimum = branch.get("minimum", branch.get("exclusiveMinimum"))
        maximum = branch.get("maximum", branch.get("exclusiveMaximum"))
        if kind == "number":  # tabular floats: NaN reads as null, infinity must fail
            minimum = -FLOAT_MAX if minimum is None else minimum
            maximum = FLOAT_MAX if maximum is None else maximum
        return ValueRule(
            minimum=None if minimum is None else float(minimum),
            maximum=None if maximum is None else float(maximum),
            strict_minimum="exclusiveMinimum" in branch,
            strict_maximum="exclusiveMaximum" in branch,
        )
    if kind == "string" and dtype == pl.String() and "format" not in branch:
        return ValueRule(
            pattern=branch.get("pattern"),
            min_length=branch.get("minLength"),
            max_length=branch.get("maxLength"),
        )
    return ValueRule()


def _value_rule(prop: dict[str, Any], defs: dict[str, Any], dtype: pl.DataType) -> ValueRule:
    """The constraints of the branch of a JSON Schema property that the tabular dtype takes."""
    branches = prop.get("anyOf", [prop])
    rules = [_branch_rule(b, defs, dtype) for b in branches if b.get("type") != "null"]
    rules = [r for r in rules if r != ValueRule()]
    return rules[0] if rules else ValueRule()


def _record_rules(
    records: tuple[type[Record], ...], scope_of: dict[type[Record], str | None]
) -> dict[str, tuple[set[str | None], dict[ValueRule, set[str | None]]]]:
    """column -> (scopes where required, value rule -> scopes declaring it)."""
    out: dict[str, tuple[set[str | None], dict[ValueRule, set[str | None]]]] = {}
    for cls in records:
        schema = cls.model_json_schema(mode="validation")
        defs = schema.get("$defs", {})
        required = set(schema.get("required", []))
        tabular = polars_schema(cls)
        for name, prop in schema["properties"].items():
            required_in, values = out.setdefault(name, (set(), defaultdict(set)))
            scope = scope_of[cls]
            if name in required:
                required_in.add(scope)
            rule = _value_rule(prop, defs, tabular[name])
            if rule != ValueRule():
                values[rule].add(scope)
    return out


def _scoped(scopes: set[str | None], every: set[str | None]) -> tuple[str, ...] | None:
    if scopes >= every:
        return None
    return tuple(sorted(s for s in scopes if s is not None))


def event_rules() -> tuple[ColumnRule, ...]:
    """Rules of the event log, in ``event_log_schema()`` column order."""
    records = event_record_types()
    scope_of: dict[type[Record], str | None] = {cls: cls.event_type for cls in records}
    every: set[str | None] = set(scope_of.values())
    per_column = _record_rules(tuple(records), scope_of)
    rules = []
    for column, dtype in event_log_schema(with_truth=True).items():
        if column == EVENT_TYPE_COLUMN:
            allowed = tuple(sorted(str(s) for s in every))
            rules.append(
                ColumnRule(column, dtype, True, True, None, ((ValueRule(allowed=allowed), None),))
            )
            continue
        if column in TRUTH_COLUMNS:
            rules.append(ColumnRule(column, dtype, False, False, None, ()))
            continue
        required_in, values = per_column[column]
        rules.append(
            ColumnRule(
                column=column,
                dtype=dtype,
                mandatory=True,
                required=bool(required_in),
                required_for=_scoped(required_in, every) if required_in else None,
                values=tuple((rule, _scoped(scopes, every)) for rule, scopes in values.items()),
            )
        )
    return tuple(rules)


def feedback_rules() -> tuple[ColumnRule, ...]:
    """Rules of the feedback (label) dataset, in ``feedback_schema()`` column order."""
    per_column = _record_rules((Feedback,), {Feedback: None})
    rules = []
    for column, dtype in feedback_schema().items():
        required_in, values = per_column[column]
        rules.append(
            ColumnRule(
                column=column,
                dtype=dtype,
                mandatory=column not in ADDED_FEEDBACK_COLUMNS,
                required=bool(required_in),
                required_for=None,
                values=tuple((rule, None) for rule in values),
            )
        )
    return tuple(rules)


def decimal_fields() -> tuple[str, ...]:
    """Event-log columns that are decimal amounts in the records (numeric drift watch)."""
    names: list[str] = []
    for cls in event_record_types():
        for name, info in cls.model_fields.items():
            decimal = Decimal in (info.annotation, *get_args(info.annotation))
            if decimal and name not in names:
                names.append(name)
    return tuple(names)


def categorical_fields() -> tuple[str, ...]:
    """Event-log columns with a closed or coded vocabulary: enums and pattern codes."""
    names = [EVENT_TYPE_COLUMN]
    for rule in event_rules():
        for value_rule, _ in rule.values:
            coded = value_rule.allowed is not None or (
                value_rule.pattern is not None and value_rule.max_length is None
            )
            if coded and rule.column not in names:
                names.append(rule.column)
    return tuple(names)
