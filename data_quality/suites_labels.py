"""Label suites: conflicting labels, label timing, label rates and the analyst guard."""

from __future__ import annotations

import great_expectations as gx
import polars as pl
from great_expectations.expectations.row_conditions import Column

from data_quality import analysts as A
from data_quality.config import GateConfig
from data_quality.labels import (
    ANALYST_ID,
    DISTINCT_LABELS,
    EVENT_ID,
    LABEL_LAG_SECONDS,
    SOURCE,
    Rate,
    rates_frame,
)
from data_quality.loading import Table
from data_quality.plan import Plan, Skipped
from data_quality.reference import ReferenceProfile, rate_bounds
from schemas import FeedbackSource

E = gx.expectations

RATE_TEXT = {
    "labelled_share": "share of the events that carry a label",
    "fraud_share": "fraud share of the labelled events (final label)",
}


def attribution(plan: Plan, feedback: Table) -> None:
    """Analyst labels must name the analyst (else the analyst guard cannot see them)."""
    if feedback.has(ANALYST_ID, SOURCE):
        plan.add(
            E.ExpectColumnValuesToNotBeNull,
            f"{plan.name}.{ANALYST_ID}.attributed",
            f"every `{FeedbackSource.ANALYST.value}` label names its `{ANALYST_ID}`",
            column=ANALYST_ID,
            row_condition=Column(SOURCE) == FeedbackSource.ANALYST.value,
        )


def labels_plan(labels: pl.DataFrame, config: GateConfig) -> Plan:
    """One row per labelled event: no fraud-and-genuine conflicts, no label before its event."""
    plan = Plan("labels", labels, id_columns=(EVENT_ID,))
    plan.add(
        E.ExpectColumnValuesToBeBetween,
        "labels.conflicting_labels",
        "no event is labelled both fraud and genuine"
        + (
            f" (tolerated on {config.max_conflicting_label_share:.2%} of labelled events)"
            if config.max_conflicting_label_share
            else ""
        ),
        column=DISTINCT_LABELS,
        max_value=1,
        mostly=1.0 - config.max_conflicting_label_share,
    )
    plan.add(
        E.ExpectColumnValuesToBeBetween,
        "labels.label_after_event",
        "no label arrives before the event it labels",
        column=LABEL_LAG_SECONDS,
        min_value=0,
    )
    return plan


def analysts_plan(analysts: pl.DataFrame, config: GateConfig) -> Plan:
    """Each analyst against the team (robust statistics) (see ``data_quality.analysts``)."""
    plan = Plan("analysts", analysts, id_columns=(ANALYST_ID,))
    limit = A.label_share_limit(analysts, config)
    plan.add(
        E.ExpectColumnValuesToBeBetween,
        "analysts.label_share",
        f"no analyst holds more than {limit:.1%} of the analyst labels",
        column=A.LABEL_SHARE,
        max_value=limit,
    )
    sigma = config.analyst_sigma
    plan.add(
        E.ExpectColumnValuesToBeBetween,
        "analysts.fraud_rate_z",
        f"no analyst's fraud rate is more than {sigma:g} standard errors from the team "
        f"median (robust z; analysts with {config.min_analyst_labels}+ labels)",
        column=A.FRAUD_RATE_Z,
        min_value=-sigma,
        max_value=sigma,
    )
    plan.add(
        E.ExpectColumnValuesToBeBetween,
        "analysts.fraud_to_genuine_share",
        f"no analyst causes more than {config.max_analyst_disagreement_share:.0%} of the "
        f"fraud->genuine disagreements (when there are {config.min_disagreements}+)",
        column=A.FRAUD_TO_GENUINE_SHARE,
        max_value=config.max_analyst_disagreement_share,
    )
    return plan


def _rate_text(name: str) -> str:
    if name in RATE_TEXT:
        return RATE_TEXT[name]
    return f"share of the labels from `{name.removeprefix('source_').removesuffix('_share')}`"


def rates_plan(
    rates: dict[str, Rate], reference: ReferenceProfile | None, config: GateConfig
) -> tuple[Plan | None, list[Skipped]]:
    """Each label rate within its band around the reference window's rate."""
    if reference is None:
        return None, [Skipped(f"rates.{name}", "no reference window given") for name in rates]
    plan = Plan("rates", rates_frame(rates))
    skipped = []
    for name, rate in rates.items():
        ref = reference.rates.get(name)
        bounds = rate_bounds(ref, rate.n, config) if ref is not None else None
        if bounds is None:
            skipped.append(Skipped(f"rates.{name}", "the reference window has no such rate"))
            continue
        assert ref is not None and ref.value is not None
        low, high = bounds
        plan.add(
            E.ExpectColumnMeanToBeBetween,
            f"rates.{name}",
            f"{_rate_text(name)} within [{low:.4f}, {high:.4f}] (reference {ref.value:.4f})",
            column=name,
            min_value=low,
            max_value=high,
        )
    return plan, skipped
