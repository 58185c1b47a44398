"""Running the plans through Great Expectations: an ephemeral context, one pandas data
asset, suite, validation definition and checkpoint per plan, and one Data Docs site."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import great_expectations as gx
from great_expectations.core.expectation_validation_result import ExpectationValidationResult
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)

from data_quality.plan import Plan

log = logging.getLogger(__name__)

SITE = "fraudstream_gate"
DATASOURCE = "fraudstream"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One evaluated expectation and the table it ran on."""

    table: str
    result: ExpectationValidationResult


def _context(docs_dir: Path | None) -> Any:
    sites = {}
    if docs_dir is not None:
        sites[SITE] = {
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_dir),
            },
            "site_index_builder": {
                "class_name": "DefaultSiteIndexBuilder",
                "show_how_to_buttons": False,
            },
        }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites=sites,
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _result_format(plan: Plan, examples: int) -> dict[str, Any]:
    fmt: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": examples}
    if plan.id_columns:
        fmt["unexpected_index_column_names"] = list(plan.id_columns)
    return fmt


def validate(
    plans: list[Plan], docs_dir: Path | None, run_name: str, run_time: datetime, examples: int
) -> tuple[list[Outcome], Path | None]:
    """Validate every plan; returns the outcomes and the Data Docs index (None: not built)."""
    context = _context(docs_dir)
    source = context.data_sources.add_pandas(DATASOURCE)
    run_id = RunIdentifier(run_name=run_name, run_time=run_time)
    outcomes: list[Outcome] = []
    for plan in plans:
        asset = source.add_dataframe_asset(plan.name)
        batch = asset.add_batch_definition_whole_dataframe(plan.name)
        suite = context.suites.add(
            gx.ExpectationSuite(name=plan.name, expectations=list(plan.expectations))
        )
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=plan.name, data=batch, suite=suite)
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=plan.name,
                validation_definitions=[definition],
                result_format=_result_format(plan, examples),
            )
        )
        result = checkpoint.run(
            batch_parameters={"dataframe": plan.frame.to_pandas()}, run_id=run_id
        )
        for suite_result in result.run_results.values():
            outcomes.extend(Outcome(plan.name, r) for r in suite_result.results)
        log.debug(
            "validated table=%s rows=%d success=%s", plan.name, plan.frame.height, result.success
        )
    if docs_dir is None:
        return outcomes, None
    context.build_data_docs(site_names=[SITE])
    return outcomes, docs_dir / "index.html"
