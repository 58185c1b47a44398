"""``fraudstream check-data``: the data gate on a dataset folder, with a report to read."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from data_quality import GateConfig, GateResult, run_gate
from pipeline.cli.context import settings_of

console = Console()
err_console = Console(stderr=True)
REPORTS_DIR = "data-quality"


def failures_table(result: GateResult) -> Table:
    table = Table(
        title=f"data gate: {len(result.failed)} failed expectations", title_justify="left"
    )
    table.add_column("check", style="bold")
    table.add_column("expectation")
    table.add_column("observed", overflow="fold")
    for failed in result.failed:
        table.add_row(failed.check, failed.description, failed.observed_text(examples=2))
    return table


def _overview_table(result: GateResult) -> Table:
    table = Table(title="data gate", title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value")
    table.add_row("expectations", f"{result.evaluated} evaluated, {len(result.failed)} failed")
    table.add_row("skipped checks", str(len(result.skipped)))
    table.add_row("reference", str(result.reference_dir or "none (drift and rate checks skipped)"))
    table.add_row("summary", str(result.summary_markdown))
    table.add_row("Data Docs", str(result.data_docs or "not built"))
    table.add_row("seconds", f"{result.seconds:.1f}")
    return table


def check_data(
    ctx: typer.Context,
    path: Path = typer.Argument(
        ..., help="dataset folder holding events/day=*/ and feedback/day=*/ Parquet files"
    ),
    reference: Path | None = typer.Option(
        None,
        "--reference",
        help="reference window in the same layout: bounds for label rates and drift",
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="report folder [default: <FRAUDSTREAM_HOME>/data-quality/<timestamp>]",
        show_default=False,
    ),
) -> None:
    """Validate a dataset before it may train a model; exit 1 when any expectation fails."""
    settings = settings_of(ctx)
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("great_expectations").setLevel(logging.WARNING)
    now = datetime.now(UTC)
    out_dir = out or settings.home / REPORTS_DIR / now.strftime("%Y%m%dT%H%M%SZ")
    config = GateConfig(time_bounds=settings.decode_limits().time_bounds, now=now)
    with console.status("[bold]validating[/] " + str(path)):
        result = run_gate(path, reference, out_dir, config)
    console.print(_overview_table(result))
    if result.passed:
        console.print(f"[bold green]{result.headline()}[/]", soft_wrap=True)
        return
    console.print(failures_table(result))
    err_console.print(f"[bold red]{result.headline()}[/]", soft_wrap=True)
    raise typer.Exit(1)
