"""Drift expectations: the batch's key fields against the reference window's.

Numeric fields: KL divergence over the reference's equal-frequency bins (a PSI-like test
that reacts to a shift anywhere in the distribution) and each configured quantile within a
relative band of the reference quantile. Categorical fields: KL divergence of the value mix,
with a little mass held out for values the reference never saw.
"""

from __future__ import annotations

import great_expectations as gx

from data_quality.config import GateConfig
from data_quality.expectations import ExpectColumnQuantilesToBeWithinReference
from data_quality.loading import Table
from data_quality.plan import Plan, Skipped
from data_quality.reference import ReferenceProfile, categorical_drift_fields, numeric_fields

E = gx.expectations


def _band(value: float, tolerance: float) -> list[float]:
    low, high = value * (1.0 - tolerance), value * (1.0 + tolerance)
    return [min(low, high), max(low, high)]


def add_drift(
    plan: Plan, events: Table, reference: ReferenceProfile | None, config: GateConfig
) -> list[Skipped]:
    """Add the drift expectations of the events to ``plan``; returns what could not run."""
    skipped: list[Skipped] = []
    for column in numeric_fields(config):
        checks = (f"events.{column}.drift_kl", f"events.{column}.drift_quantiles")
        profile = reference.numeric.get(column) if reference else None
        if reference is None or profile is None or not events.has(column):
            why = "no reference window given" if reference is None else "column not comparable"
            skipped.extend(Skipped(check, why) for check in checks)
            continue
        plan.add(
            E.ExpectColumnKLDivergenceToBeLessThan,
            checks[0],
            f"`{column}` distribution over {len(profile.weights)} reference bins: KL "
            f"divergence from the reference at most {config.max_numeric_kl:g}",
            column=column,
            partition_object={"bins": list(profile.edges), "weights": list(profile.weights)},
            threshold=config.max_numeric_kl,
            tail_weight_holdout=config.kl_tail_weight,
        )
        plan.add(
            ExpectColumnQuantilesToBeWithinReference,
            checks[1],
            f"`{column}` quantiles within ±{config.quantile_tolerance:.0%} of the reference",
            column=column,
            quantile_ranges={
                "quantiles": list(profile.quantiles),
                "value_ranges": [_band(v, config.quantile_tolerance) for v in profile.values],
            },
        )
    for column in categorical_drift_fields(config):
        check = f"events.{column}.drift_kl"
        mix = reference.categorical.get(column) if reference else None
        if reference is None or mix is None or not events.has(column):
            why = "no reference window given" if reference is None else "column not comparable"
            skipped.append(Skipped(check, why))
            continue
        plan.add(
            E.ExpectColumnKLDivergenceToBeLessThan,
            check,
            f"`{column}` mix: KL divergence from the reference at most "
            f"{config.max_categorical_kl:g}",
            column=column,
            partition_object={"values": list(mix.values), "weights": list(mix.weights)},
            threshold=config.max_categorical_kl,
            tail_weight_holdout=config.kl_tail_weight,
        )
    return skipped
