"""Schema suites, generated from the column rules of ``data_quality.rules``.

- ``<dataset>_files``: every file has every schema column, with the schema's polars dtype
  (the ground-truth columns may be absent); a failure names the file and the column.
- ``<dataset>``: required fields not null (per event type), numeric ranges and finiteness,
  patterns, string lengths, enum members, timestamps within the time bounds, row count.
"""

from __future__ import annotations

from datetime import datetime

import great_expectations as gx
import polars as pl

from data_quality.config import GateConfig
from data_quality.loading import ABSENT, COLUMN, DTYPE, EXPECTED_DTYPE, FILE_COLUMN, Table
from data_quality.plan import Plan, Skipped, event_type_condition, scope_text
from data_quality.rules import FLOAT_MAX, ColumnRule, ValueRule

E = gx.expectations


def files_plan(table: Table, rules: tuple[ColumnRule, ...]) -> Plan:
    """Every file has every mandatory schema column with the schema's dtype (and the
    optional columns (ground truth, feedback columns added later), where present, too)."""
    optional = [rule.column for rule in rules if not rule.mandatory]
    files = table.files.filter(~(pl.col(COLUMN).is_in(optional) & (pl.col(DTYPE) == ABSENT)))
    plan = Plan(f"{table.name}_files", files, id_columns=(FILE_COLUMN, COLUMN))
    plan.add(
        E.ExpectColumnPairValuesToBeEqual,
        f"{plan.name}.schema",
        f"every {table.name} file has each schema column with its dtype "
        f"({len(rules) - len(optional)} columns from the record models)",
        column_A=DTYPE,
        column_B=EXPECTED_DTYPE,
    )
    return plan


def _bound_text(value: float | None) -> str:
    if value is None or abs(value) >= FLOAT_MAX:
        return "finite"
    return f"{value:g}"


def _add_value_rule(
    plan: Plan, rule: ColumnRule, value: ValueRule, scope: tuple[str, ...] | None, suffix: str
) -> None:
    column = rule.column
    prefix = f"{plan.name}.{column}"
    where = scope_text(scope)
    condition = event_type_condition(scope)
    if value.has_range:
        plan.add(
            E.ExpectColumnValuesToBeBetween,
            f"{prefix}.range{suffix}",
            f"`{column}` within [{_bound_text(value.minimum)}, {_bound_text(value.maximum)}]"
            + where,
            column=column,
            min_value=value.minimum,
            max_value=value.maximum,
            strict_min=value.strict_minimum or None,
            strict_max=value.strict_maximum or None,
            row_condition=condition,
        )
    if value.allowed is not None:
        plan.add(
            E.ExpectColumnValuesToBeInSet,
            f"{prefix}.allowed{suffix}",
            f"`{column}` is one of {', '.join(value.allowed)}" + where,
            column=column,
            value_set=list(value.allowed),
            row_condition=condition,
        )
    if value.pattern is not None:
        plan.add(
            E.ExpectColumnValuesToMatchRegex,
            f"{prefix}.pattern{suffix}",
            f"`{column}` matches {value.pattern}" + where,
            column=column,
            regex=value.pattern,
            row_condition=condition,
        )
    if value.has_lengths:
        plan.add(
            E.ExpectColumnValueLengthsToBeBetween,
            f"{prefix}.length{suffix}",
            f"`{column}` is {value.min_length or 0} to {value.max_length or 'any'} characters"
            + where,
            column=column,
            min_value=value.min_length,
            max_value=value.max_length,
            row_condition=condition,
        )


def column_plan(
    table: Table,
    rules: tuple[ColumnRule, ...],
    id_columns: tuple[str, ...],
    min_rows: int,
    config: GateConfig,
    now: datetime,
    unique: tuple[str, ...] = (),
) -> tuple[Plan, list[Skipped]]:
    """The value checks of every column the dataset holds (absent ones are skipped), and
    the uniqueness of the ``unique`` columns (the events' ids)."""
    plan = Plan(table.name, table.frame, id_columns=tuple(c for c in id_columns if table.has(c)))
    skipped: list[Skipped] = []
    plan.add(
        E.ExpectTableRowCountToBeBetween,
        f"{plan.name}.rows.min",
        f"at least {min_rows} {table.name} rows",
        min_value=min_rows,
    )
    latest = now + config.time_bounds.max_future
    for rule in rules:
        prefix = f"{plan.name}.{rule.column}"
        if not table.has(rule.column):
            if rule.mandatory:
                skipped.append(Skipped(prefix, f"column absent; see {table.name}_files.schema"))
            continue
        if rule.required:
            plan.add(
                E.ExpectColumnValuesToNotBeNull,
                f"{prefix}.not_null",
                f"`{rule.column}` is never null" + scope_text(rule.required_for),
                column=rule.column,
                row_condition=event_type_condition(rule.required_for),
            )
        if rule.is_time:
            plan.add(
                E.ExpectColumnValuesToBeBetween,
                f"{prefix}.time_bounds",
                f"`{rule.column}` between {config.time_bounds.earliest:%Y-%m-%d} and now + "
                f"{config.time_bounds.max_future} (not in the future)",
                column=rule.column,
                min_value=config.time_bounds.earliest,
                max_value=latest,
            )
        several = len(rule.values) > 1
        for value, scope in rule.values:
            suffix = f"[{'+'.join(scope)}]" if several and scope else ""
            _add_value_rule(plan, rule, value, scope, suffix)
        if rule.column in unique:
            plan.add(
                E.ExpectColumnValuesToBeUnique,
                f"{prefix}.unique",
                f"`{rule.column}` is unique across the {table.name}",
                column=rule.column,
            )
    return plan, skipped
