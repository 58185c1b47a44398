"""``run_gate``: validate a dataset folder before it may train a model.

The gate reads the batch (and, when given, a reference window), builds the suites from the
schemas and the reference, runs them through Great Expectations, renders Data Docs, and
writes ``summary.json`` / ``summary.md``. Bad data never raises: it returns a failed
:class:`GateResult`. Only a gate that cannot run (no data, unreadable files, a bad config)
raises a :class:`~data_quality.exceptions.DataQualityError`.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from data_quality.analysts import analyst_table
from data_quality.config import GateConfig
from data_quality.labels import EVENT_ID, label_rates, label_table
from data_quality.loading import Dataset, load_dataset
from data_quality.plan import Plan, Skipped
from data_quality.reference import ReferenceProfile, profile_reference
from data_quality.report import (
    SUMMARY_JSON,
    SUMMARY_MARKDOWN,
    GateResult,
    failure,
    write_summary,
)
from data_quality.rules import event_rules, feedback_rules
from data_quality.runner import validate
from data_quality.suites_drift import add_drift
from data_quality.suites_labels import (
    analysts_plan,
    attribution,
    labels_plan,
    rates_plan,
)
from data_quality.suites_schema import column_plan, files_plan

log = logging.getLogger(__name__)

DATA_DOCS_DIR = "data_docs"


def build_plans(
    batch: Dataset, reference: ReferenceProfile | None, config: GateConfig, now: datetime
) -> tuple[list[Plan], list[Skipped]]:
    """Every table the gate validates, with its expectations; and the checks that cannot run."""
    events, feedback = batch.events, batch.feedback
    e_rules, f_rules = event_rules(), feedback_rules()
    plans = [files_plan(events, e_rules), files_plan(feedback, f_rules)]
    skipped: list[Skipped] = []

    events_plan, missing = column_plan(
        events, e_rules, (EVENT_ID,), config.min_events, config, now, unique=(EVENT_ID,)
    )
    skipped += missing
    skipped += add_drift(events_plan, events, reference, config)
    plans.append(events_plan)

    feedback_plan, missing = column_plan(
        feedback, f_rules, (EVENT_ID,), config.min_labels, config, now
    )
    skipped += missing
    attribution(feedback_plan, feedback)
    plans.append(feedback_plan)

    labels = label_table(events, feedback)
    if labels is None:
        skipped.append(Skipped("labels", "feedback lacks event_id, label or ts"))
    else:
        plans.append(labels_plan(labels, config))
    analysts = analyst_table(feedback, config)
    if analysts is None:
        skipped.append(Skipped("analysts", "feedback lacks a column the analyst guard reads"))
    else:
        plans.append(analysts_plan(analysts, config))
    rates, missing = rates_plan(label_rates(events, feedback, labels), reference, config)
    skipped += missing
    if rates is not None:
        plans.append(rates)
    return plans, skipped


def run_gate(
    data_dir: Path | str,
    reference_dir: Path | str | None = None,
    out_dir: Path | str | None = None,
    config: GateConfig | None = None,
) -> GateResult:
    """Validate ``data_dir`` (events + feedback), optionally against ``reference_dir``.

    ``out_dir`` receives ``data_docs/index.html``, ``summary.json`` and ``summary.md``
    (default: a new temporary folder).
    """
    config = config or GateConfig()
    started = time.perf_counter()
    now = config.now or datetime.now(UTC)
    data_dir = Path(data_dir)
    reference_path = Path(reference_dir) if reference_dir is not None else None
    out = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="fs-gate-"))
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / DATA_DOCS_DIR, ignore_errors=True)  # a report describes one run

    batch = load_dataset(data_dir)
    reference = profile_reference(load_dataset(reference_path), config) if reference_path else None
    plans, skipped = build_plans(batch, reference, config, now)
    outcomes, docs = validate(
        plans,
        out / DATA_DOCS_DIR if config.data_docs else None,
        run_name=f"gate-{now:%Y%m%dT%H%M%S}",
        run_time=now,
        examples=config.examples,
    )
    failed = tuple(f for o in outcomes if (f := failure(o, config.examples)) is not None)
    result = GateResult(
        passed=not failed,
        data_dir=data_dir,
        reference_dir=reference_path,
        evaluated=len(outcomes),
        failed=failed,
        skipped=tuple(skipped),
        out_dir=out,
        data_docs=docs,
        summary_json=out / SUMMARY_JSON,
        summary_markdown=out / SUMMARY_MARKDOWN,
        started_at=now,
        seconds=time.perf_counter() - started,
    )
    write_summary(result)
    log.info(
        "data gate passed=%s evaluated=%d failed=%d skipped=%d seconds=%.1f out=%s",
        result.passed,
        result.evaluated,
        len(failed),
        len(skipped),
        result.seconds,
        out,
    )
    if failed:
        log.warning("data gate failed checks=%s", ",".join(result.failed_checks))
    for f in failed:
        log.debug("expectation failed check=%s observed=%s", f.check, f.observed_text())
    return result
