"""The YAML column mapping that lets any CSV/Parquet event log be read (see docs/MAPPING.md).

The fields a mapping may name are the event-log columns of ``schemas.tabular`` plus
``label`` (an observed label, turned into ``is_fraud`` with ``label.positive``) and
``label_ts`` (when that label arrived). Nothing here retypes a field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from models.features import MappingError
from schemas.tabular import event_log_schema

#: fields every event log must provide
REQUIRED_FIELDS: tuple[str, ...] = ("event_id", "account_id", "ts", "amount")
#: fields a mapping may name besides the event-log columns
LABEL_FIELD = "label"
LABEL_TS_FIELD = "label_ts"


def mappable_fields() -> tuple[str, ...]:
    """Every field a mapping may name: event-log columns (truth included), label, label time."""
    return (*event_log_schema(with_truth=True), LABEL_FIELD, LABEL_TS_FIELD)


Scalar = str | int | float | bool
DEFAULT_POSITIVE: tuple[Scalar, ...] = (1, True, "fraud", "yes")


class TimestampFormat(BaseModel):
    """How to read the timestamp columns (``ts`` and ``label_ts``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str | None = Field(default=None, description="strptime format of text timestamps")
    unit: Literal["s", "ms", "us", "ns"] | None = Field(
        default=None, description="unit of numeric (epoch) timestamps; default seconds"
    )
    timezone: str = Field(default="UTC", description="zone of timestamps without an offset")
    origin: datetime | None = Field(
        default=None, description="ISO time that numeric timestamps count from (default epoch)"
    )

    @field_validator("origin")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class LabelRule(BaseModel):
    """Which label values mean fraud; any other non-empty value means genuine."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    positive: list[Scalar] = Field(default_factory=lambda: list(DEFAULT_POSITIVE))


class CsvOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    separator: str = Field(default=",", min_length=1, max_length=1)
    null_values: list[str] = Field(default_factory=lambda: ["", "NA", "null", "NULL"])


class ColumnMapping(BaseModel):
    """Field name -> source column, plus the rules to read the values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["csv", "parquet"] | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    constants: dict[str, Scalar] = Field(default_factory=dict)
    values: dict[str, dict[str, Scalar]] = Field(default_factory=dict)
    timestamp: TimestampFormat = Field(default_factory=TimestampFormat)
    label: LabelRule = Field(default_factory=LabelRule)
    csv: CsvOptions = Field(default_factory=CsvOptions)
    #: where the mapping came from, for error messages
    source_file: str = Field(default="(none: columns named as the event-log schema)")

    @model_validator(mode="after")
    def _known_fields(self) -> ColumnMapping:
        known = set(mappable_fields())
        for section in ("columns", "constants", "values"):
            unknown = sorted(set(getattr(self, section)) - known)
            if unknown:
                raise ValueError(
                    f"unknown field(s) under `{section}:` {', '.join(unknown)}; "
                    f"known fields: {', '.join(sorted(known))}"
                )
        return self

    def source_of(self, field: str) -> str:
        """The source column of ``field`` (its own name when the mapping does not list it)."""
        return self.columns.get(field, field)


def load_mapping(path: Path) -> ColumnMapping:
    """Read and check a YAML mapping file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise MappingError(f"mapping file {path} does not exist") from err
    except yaml.YAMLError as err:
        raise MappingError(f"mapping file {path} is not valid YAML: {err}") from err
    if not isinstance(raw, dict):
        raise MappingError(f"mapping file {path} must hold a YAML mapping (`columns: …`)")
    try:
        return ColumnMapping.model_validate({**raw, "source_file": str(path)})
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}" for e in err.errors()
        )
        raise MappingError(f"mapping file {path} is invalid: {problems}") from err
