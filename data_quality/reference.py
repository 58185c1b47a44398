"""What the reference window looks like: label rates, numeric bins and quantiles, category
mixes. The gate turns these into the bounds of the drift and rate expectations.

Numeric bins are equal-frequency bins of the reference (edges are observed values, so no
bin is empty), closed on the left like numpy's histogram that GX uses for the batch, with
the top edge just above the reference maximum.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import polars as pl

from data_quality.config import GateConfig
from data_quality.labels import Rate, label_rates, label_table
from data_quality.loading import Dataset
from data_quality.rules import categorical_fields, decimal_fields

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NumericProfile:
    """Equal-frequency bins (edges, weights) and quantiles of one numeric column."""

    edges: tuple[float, ...]
    weights: tuple[float, ...]
    quantiles: tuple[float, ...]
    values: tuple[float, ...]
    count: int


@dataclass(frozen=True, slots=True)
class CategoricalProfile:
    """The share of each value of one categorical column (nulls left out)."""

    values: tuple[str, ...]
    weights: tuple[float, ...]
    count: int


@dataclass(frozen=True, slots=True)
class ReferenceProfile:
    root: str
    rates: dict[str, Rate]
    numeric: dict[str, NumericProfile] = field(default_factory=dict)
    categorical: dict[str, CategoricalProfile] = field(default_factory=dict)


def numeric_fields(config: GateConfig) -> tuple[str, ...]:
    return (
        config.numeric_drift_fields if config.numeric_drift_fields is not None else decimal_fields()
    )


def categorical_drift_fields(config: GateConfig) -> tuple[str, ...]:
    if config.categorical_drift_fields is not None:
        return config.categorical_drift_fields
    return categorical_fields()


def _numeric(values: pl.Series, config: GateConfig) -> NumericProfile | None:
    values = values.drop_nulls().drop_nans().cast(pl.Float64)
    values = values.filter(values.is_finite())
    if values.len() < 2:
        return None
    top = float(values.max())  # type: ignore[arg-type]
    inner = sorted(
        {
            float(values.quantile(i / config.drift_bins, interpolation="lower"))  # type: ignore[arg-type]
            for i in range(config.drift_bins)
        }
    )
    edges = [*inner, top + max(abs(top) * 1e-9, 1e-9)]
    if len(edges) < 2:
        return None
    index = pl.Series(edges).search_sorted(values, side="right") - 1
    counts = index.value_counts().sort(index.name)
    by_bin = dict(zip(counts[index.name].to_list(), counts["count"].to_list(), strict=True))
    n = values.len()
    weights = tuple(by_bin.get(i, 0) / n for i in range(len(edges) - 1))
    qs = tuple(
        float(values.quantile(q, interpolation="linear"))  # type: ignore[arg-type]
        for q in config.drift_quantiles
    )
    return NumericProfile(tuple(edges), weights, tuple(config.drift_quantiles), qs, n)


def _categorical(values: pl.Series) -> CategoricalProfile | None:
    values = values.drop_nulls().cast(pl.String)
    if values.len() == 0:
        return None
    counts = values.value_counts(sort=True)
    n = values.len()
    name = values.name
    return CategoricalProfile(
        tuple(counts[name].to_list()), tuple(c / n for c in counts["count"].to_list()), n
    )


def profile_reference(reference: Dataset, config: GateConfig) -> ReferenceProfile:
    """Profile the reference window (columns it lacks are simply not profiled)."""
    events = reference.events
    labels = label_table(events, reference.feedback)
    profile = ReferenceProfile(
        root=str(reference.root), rates=label_rates(events, reference.feedback, labels)
    )
    for column in numeric_fields(config):
        if events.has(column) and events.frame.schema[column].is_numeric():
            numeric = _numeric(events.frame.get_column(column), config)
            if numeric is not None:
                profile.numeric[column] = numeric
    for column in categorical_drift_fields(config):
        if events.has(column):
            categorical = _categorical(events.frame.get_column(column))
            if categorical is not None:
                profile.categorical[column] = categorical
    log.info(
        "reference profiled root=%s numeric=%s categorical=%s",
        reference.root,
        ",".join(profile.numeric),
        ",".join(profile.categorical),
    )
    return profile


def rate_bounds(reference: Rate, n: int, config: GateConfig) -> tuple[float, float] | None:
    """The band a batch rate over ``n`` items must fall in, around the reference rate.

    Half-width: the larger of ``rate_tolerance`` x the reference rate and ``rate_sigma``
    binomial standard errors of a batch of ``n`` (so a small batch is not failed for noise).
    """
    if reference.value is None:
        return None
    p = reference.value
    noise = config.rate_sigma * math.sqrt(max(p * (1.0 - p), 0.0) / max(n, 1))
    half = max(config.rate_tolerance * p, noise)
    return max(0.0, p - half), min(1.0, p + half)
