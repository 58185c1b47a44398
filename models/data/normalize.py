"""Raw columns -> the event-log schema: select through a mapping, map values, cast, check.

Every failure names the field, its source column and the mapping file, with a few of the
offending values, so a user can fix the mapping instead of guessing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import polars as pl

from models.data.mapping import (
    LABEL_FIELD,
    LABEL_TS_FIELD,
    REQUIRED_FIELDS,
    ColumnMapping,
    TimestampFormat,
)
from models.features import MappingError
from models.features.events import CHANNEL_CODES
from models.manifest import EVENT_TYPES
from schemas.tabular import EVENT_TYPE_COLUMN, event_log_schema

log = logging.getLogger(__name__)


TRUE_WORDS = frozenset({"true", "t", "1", "yes", "y"})
FALSE_WORDS = frozenset({"false", "f", "0", "no", "n"})
_US_PER_UNIT = {"s": 1e6, "ms": 1e3, "us": 1.0, "ns": 1e-3}


class _Columns:
    """Pick each field's source column out of a raw frame, with messages that name it."""

    def __init__(self, raw: pl.DataFrame, mapping: ColumnMapping, where: str) -> None:
        self.raw = raw
        self.mapping = mapping
        self.where = where

    def describe(self, field: str) -> str:
        source = self.mapping.source_of(field)
        named = f"column '{source}'" + (f" (field {field})" if source != field else "")
        return f"{named} of {self.where}, mapping {self.mapping.source_file}"

    def get(self, field: str) -> pl.Series | None:
        if field in self.mapping.constants:
            return pl.Series(field, [self.mapping.constants[field]] * self.raw.height)
        source = self.mapping.source_of(field)
        if source in self.raw.columns:
            return self.raw.get_column(source).alias(field)
        if field in REQUIRED_FIELDS:
            raise MappingError(
                f"required field '{field}' has no column: '{source}' is not in {self.where} "
                f"(columns: {', '.join(self.raw.columns[:30])}); "
                f"fix `columns: {{{field}: …}}` in mapping {self.mapping.source_file}"
            )
        if field in self.mapping.columns:
            log.warning(
                "mapped column missing, field left empty field=%s column=%s mapping=%s",
                field,
                source,
                self.mapping.source_file,
            )
        return None

    def bad(self, field: str, source: pl.Series, result: pl.Series, expected: str) -> None:
        """Raise when a non-null source value became null (could not be read)."""
        failed = source.is_not_null() & result.is_null()
        if failed.any():
            examples = source.filter(failed).cast(pl.String).unique(maintain_order=True).head(3)
            raise MappingError(
                f"{int(failed.sum())} value(s) of {self.describe(field)} are not {expected}, "
                f"e.g. {', '.join(repr(v) for v in examples.to_list())}"
            )


def _apply_values(series: pl.Series, table: Mapping[str, object] | None) -> pl.Series:
    if not table:
        return series
    text = series.cast(pl.String)
    return text.replace({str(k): str(v) for k, v in table.items()})


def _as_text(series: pl.Series) -> pl.Series:
    text = series.cast(pl.String).str.strip_chars()
    return pl.select(pl.when(text.str.len_chars() > 0).then(text)).to_series().alias(series.name)


def _as_float(cols: _Columns, field: str, series: pl.Series) -> pl.Series:
    if series.dtype.is_numeric():
        return series.cast(pl.Float64)
    result = _as_text(series).cast(pl.Float64, strict=False)
    cols.bad(field, _as_text(series), result, "numbers")
    return result


def _as_int(cols: _Columns, field: str, series: pl.Series) -> pl.Series:
    result = _as_float(cols, field, series)
    return result.round().cast(pl.Int64, strict=False)


def _as_bool(cols: _Columns, field: str, series: pl.Series) -> pl.Series:
    if series.dtype == pl.Boolean:
        return series
    if series.dtype.is_numeric():
        return series != 0
    text = _as_text(series).str.to_lowercase()
    result = (
        pl.select(
            pl.when(text.is_in(list(TRUE_WORDS)))
            .then(True)
            .when(text.is_in(list(FALSE_WORDS)))
            .then(False)
        )
        .to_series()
        .alias(field)
    )
    cols.bad(field, text, result, "true/false (map them under `values:`)")
    return result


def _epoch(series: pl.Series, fmt: TimestampFormat) -> pl.Series:
    micros = (series.cast(pl.Float64) * _US_PER_UNIT[fmt.unit or "s"]).round()
    if fmt.origin is not None:
        micros = micros + fmt.origin.timestamp() * 1e6
    return micros.cast(pl.Int64).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")


def _to_utc(cols: _Columns, field: str, series: pl.Series) -> pl.Series:
    fmt = cols.mapping.timestamp
    if series.dtype == pl.Date:
        series = series.cast(pl.Datetime("us"))
    dtype = series.dtype
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is None:
        try:
            local = series.dt.replace_time_zone(
                fmt.timezone, ambiguous="earliest", non_existent="null"
            )
        except pl.exceptions.PolarsError as err:
            raise MappingError(
                f"cannot place {cols.describe(field)} in time zone {fmt.timezone!r}: {err}"
            ) from err
        cols.bad(field, series, local, f"times that exist in {fmt.timezone}")
        series = local
    return series.dt.convert_time_zone("UTC").dt.cast_time_unit("us")


def _as_time(cols: _Columns, field: str, series: pl.Series) -> pl.Series:
    fmt = cols.mapping.timestamp
    if isinstance(series.dtype, pl.Datetime) or series.dtype == pl.Date:
        return _to_utc(cols, field, series)
    if series.dtype.is_numeric():
        return _epoch(series, fmt)
    text = _as_text(series)
    numbers = text.cast(pl.Float64, strict=False)
    if fmt.format is None and (
        fmt.unit is not None or (text.null_count() < len(text) and numbers.null_count() == 0)
    ):
        cols.bad(field, text, numbers, f"epoch numbers (unit {fmt.unit or 's'})")
        return _epoch(numbers, fmt)
    expected = f"times in format {fmt.format!r}" if fmt.format else "ISO-8601 times"
    try:
        parsed = text.str.to_datetime(fmt.format, time_unit="us", strict=False)
    except pl.exceptions.PolarsError as err:
        raise MappingError(
            f"cannot read {cols.describe(field)} as {expected}: {err}; "
            "set `timestamp: {format: …}` in the mapping"
        ) from err
    cols.bad(field, text, parsed, f"{expected} (see `timestamp:` in docs/MAPPING.md)")
    return _to_utc(cols, field, parsed)


def _cast(cols: _Columns, field: str, series: pl.Series, dtype: pl.DataType) -> pl.Series:
    series = _apply_values(series, cols.mapping.values.get(field))
    if isinstance(dtype, pl.Datetime):
        return _as_time(cols, field, series)
    if dtype == pl.Boolean:
        return _as_bool(cols, field, series)
    if dtype == pl.Float64:
        return _as_float(cols, field, series)
    if dtype == pl.Int64:
        return _as_int(cols, field, series)
    return _as_text(series)


def _labels(cols: _Columns, series: pl.Series) -> pl.Series:
    """Observed label values -> is_fraud (null stays null)."""
    positive = cols.mapping.label.positive
    if series.dtype == pl.Boolean:
        return series
    if series.dtype.is_numeric():
        numbers = [float(v) for v in positive if _is_number(v)]
        return series.cast(pl.Float64).is_in(numbers)
    words = [str(v).strip().lower() for v in positive]
    text = _as_text(_apply_values(series, cols.mapping.values.get(LABEL_FIELD)))
    return text.str.to_lowercase().is_in(words).alias("is_fraud")


def _is_number(value: object) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def normalize_events(
    raw: pl.DataFrame, mapping: ColumnMapping, where: str
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Events in ``event_log_schema()`` columns, and the observed labels if any were mapped.

    The labels frame has ``event_id``, ``label_ts`` (null when unknown) and ``is_fraud``,
    one row per event that carries a label.
    """
    cols = _Columns(raw, mapping, where)
    out: dict[str, pl.Series] = {}
    for field, dtype in event_log_schema(with_truth=True).items():
        series = cols.get(field)
        if series is None:
            out[field] = pl.Series(field, [None] * raw.height, dtype=dtype)
        else:
            out[field] = _cast(cols, field, series, dtype).cast(dtype).alias(field)

    label_series = cols.get(LABEL_FIELD)
    observed: pl.DataFrame | None = None
    if label_series is not None:
        is_fraud = _labels(cols, label_series).alias("is_fraud")
        is_fraud = pl.select(pl.when(label_series.is_not_null()).then(is_fraud)).to_series()
        label_ts = cols.get(LABEL_TS_FIELD)
        label_ts = (
            pl.Series(LABEL_TS_FIELD, [None] * raw.height, dtype=pl.Datetime("us", "UTC"))
            if label_ts is None
            else _as_time(cols, LABEL_TS_FIELD, label_ts)
        )
        observed = pl.DataFrame(
            {"event_id": out["event_id"], "label_ts": label_ts, "is_fraud": is_fraud}
        ).filter(pl.col("is_fraud").is_not_null())
        merged = pl.select(pl.coalesce(pl.lit(out["is_fraud"]), pl.lit(is_fraud))).to_series()
        out["is_fraud"] = merged.alias("is_fraud")

    events = pl.DataFrame(out)
    events = _check_events(cols, events)
    return events, observed


def _check_events(cols: _Columns, events: pl.DataFrame) -> pl.DataFrame:
    for field in ("event_id", "account_id", "ts"):
        nulls = events.get_column(field).null_count()
        if nulls:
            raise MappingError(f"{nulls} row(s) have no value in {cols.describe(field)}")
    kinds = events.get_column(EVENT_TYPE_COLUMN).str.to_lowercase().fill_null("transaction")
    unknown = kinds.filter(~kinds.is_in(list(EVENT_TYPES))).unique().head(3).to_list()
    if unknown:
        raise MappingError(
            f"{cols.describe(EVENT_TYPE_COLUMN)} has values {unknown}; map them to "
            f"'transaction' or 'login' under `values: {{{EVENT_TYPE_COLUMN}: …}}`"
        )
    events = events.with_columns(
        kinds.alias(EVENT_TYPE_COLUMN),
        pl.col("channel").str.to_lowercase(),
    )
    no_amount = events.filter(
        (pl.col(EVENT_TYPE_COLUMN) == "transaction") & pl.col("amount").is_null()
    ).height
    if no_amount:
        raise MappingError(f"{no_amount} transaction(s) have no value in {cols.describe('amount')}")
    channels = events.get_column("channel").drop_nulls()
    odd = channels.filter(~channels.is_in(list(CHANNEL_CODES))).value_counts(sort=True).head(5)
    if odd.height:
        log.warning(
            "unknown channel values read as 'not available' values=%s mapping=%s",
            dict(odd.iter_rows()),
            cols.mapping.source_file,
        )
    return events
