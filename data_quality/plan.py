"""What the gate will validate: tables (as polars frames) with their expectations.

Every expectation carries a stable check name in ``meta["check"]`` (``table.column.kind``,
e.g. ``events.amount.range``) and a sentence in ``description`` that Data Docs shows; the
summary and the tests refer to checks by that name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl
from great_expectations.expectations.expectation import Expectation
from great_expectations.expectations.row_conditions import Column

from schemas.tabular import EVENT_TYPE_COLUMN

CHECK = "check"


@dataclass(frozen=True, slots=True)
class Skipped:
    """A check that could not run on this data, and why."""

    check: str
    reason: str


@dataclass
class Plan:
    """One GX data asset: the frame, the columns that name a failing row, the suite."""

    name: str
    frame: pl.DataFrame
    id_columns: tuple[str, ...] = ()
    expectations: list[Expectation] = field(default_factory=list)

    def add(
        self, expectation_type: type[Expectation], check: str, description: str, **kwargs: Any
    ) -> None:
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        self.expectations.append(
            expectation_type(meta={CHECK: check}, description=description, **kwargs)
        )


def event_type_condition(scope: tuple[str, ...] | None) -> Any:
    """The row condition selecting the event types of ``scope`` (None: every row)."""
    if scope is None:
        return None
    column = Column(EVENT_TYPE_COLUMN)
    return column == scope[0] if len(scope) == 1 else column.is_in(list(scope))


def scope_text(scope: tuple[str, ...] | None) -> str:
    return "" if scope is None else f" ({' and '.join(scope)} rows)"
