"""``fraudstream evaluate``: registered models and fresh baselines on a log's test period."""

from __future__ import annotations

import json
import logging
import shlex
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table as RichTable

from models.data import load_event_log
from models.evaluation.document import Table
from models.evaluation.harness import EvaluationParams, evaluate_models
from models.evaluation.report import (
    REPORT_HTML,
    REPORT_MD,
    scenario_table,
    summary_table,
    update_model_cards,
    write_report,
)
from models.registry import Registry
from pipeline.cli.context import settings_of
from pipeline.cli.progress import StageProgress, stage_progress
from pipeline.simulator.sinks import MANIFEST as SIMULATION_MANIFEST

logger = logging.getLogger(__name__)
console = Console()
EVALUATION_DIR = "evaluation"
#: simulator options worth stating beside the numbers
SIMULATION_OPTIONS = ("seed", "events", "accounts", "merchants", "days", "start", "fraud_rate")


def simulation_notes(data: Path) -> dict[str, str]:
    """The simulator options of a simulated log (empty for any other log)."""
    path = data / SIMULATION_MANIFEST
    if not path.is_file():
        return {}
    try:
        options = json.loads(path.read_text(encoding="utf-8")).get("options", {})
    except (OSError, ValueError) as err:
        logger.warning("simulation manifest unreadable path=%s error=%s", path, err)
        return {}
    chosen = ", ".join(f"{k} {options[k]}" for k in SIMULATION_OPTIONS if k in options)
    return {"simulated with": chosen} if chosen else {}


def _command(
    models: list[str], data: Path, mapping: Path | None, out: Path | None, delay: float
) -> str:
    parts = ["fraudstream", "evaluate"]
    for model in models:
        parts += ["--model", model]
    parts += ["--data", str(data)]
    if mapping is not None:
        parts += ["--mapping", str(mapping)]
    if out is not None:
        parts += ["--out", str(out)]
    if delay != 7.0:
        parts += ["--label-delay-days", f"{delay:g}"]
    return shlex.join(parts)


def _rich(table: Table, title: str, headers: dict[str, str] | None = None) -> RichTable:
    """A report table on the console, with shorter column names where given."""
    out = RichTable(title=title)
    for i, name in enumerate(table.header):
        short = (headers or {}).get(name, name)
        out.add_column(short, justify="right" if i in table.numeric else "left")
    for row in table.rows:
        out.add_row(*row)
    return out


def _short_headers(table: Table) -> dict[str, str]:
    """Console names: ``recall @ 1 % alerts`` -> ``R@1%``, and so on."""
    short = {"avg precision": "AP", "AUC ROC": "AUC"}
    for name in table.header:
        if name.startswith("recall @ "):
            short[name] = "R@" + name.removeprefix("recall @ ").removesuffix(" alerts").replace(
                " ", ""
            )
        elif name.startswith("daily account precision@"):
            short[name] = "acct P@" + name.rsplit("@", 1)[1]
        elif name.startswith("ms/event"):
            short[name] = "ms " + name.split("(", 1)[1].rstrip(")")
    return short


def evaluate(
    ctx: typer.Context,
    model: list[str] | None = typer.Option(
        None,
        "--model",
        help="registry version; repeat to compare several [default: the current model]",
        show_default=False,
    ),
    data: Path = typer.Option(
        ..., "--data", help="simulator output folder, or a CSV/Parquet file or folder"
    ),
    mapping: Path | None = typer.Option(
        None, "--mapping", help="YAML column mapping for other logs (docs/MAPPING.md)"
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="report folder [default: the first model's version folder / evaluation]",
        show_default=False,
    ),
    label_delay_days: float = typer.Option(
        7.0, "--label-delay-days", help="label arrival = event time + this, when not given"
    ),
    top_accounts: int = typer.Option(
        100, "--top-accounts", min=1, help="accounts reviewed per day (daily precision@k)"
    ),
    card: bool = typer.Option(
        True, "--card/--no-card", help="write the results into the models' cards"
    ),
) -> None:
    """Evaluate models on the test period of a time split, beside fresh baselines.

    AUC ROC, average precision, recall at alert rates, daily account precision, recall per
    fraud scenario and ONNX latency; a Markdown + HTML report with PNG plots.
    """
    settings = settings_of(ctx)
    registry = Registry(settings.registry_dir)
    asked: list[str | None] = list(model) if model else [None]
    versions = list(dict.fromkeys(registry.resolve(v) for v in asked))
    folder = out or registry.path(versions[0]) / EVALUATION_DIR
    with console.status(f"reading {data}"):
        event_log = load_event_log(data, mapping)
    console.print(f"read {len(event_log):,} events from {data}; evaluating {', '.join(versions)}")
    params = EvaluationParams(label_delay_days=label_delay_days, top_accounts=top_accounts)
    with stage_progress(console) as progress:
        evaluation = evaluate_models(
            event_log, registry, versions, params, progress=StageProgress(progress)
        )
    command = _command(model or [], data, mapping, out, label_delay_days)
    files = write_report(evaluation, folder, command=command, data_notes=simulation_notes(data))
    split = evaluation.split
    summary = summary_table(evaluation)
    console.print(
        _rich(
            summary,
            f"test period {split.val_end:%Y-%m-%d %H:%M} → {split.end:%Y-%m-%d %H:%M} UTC: "
            f"{evaluation.test_events:,} events, {evaluation.test_frauds:,} frauds",
            _short_headers(summary),
        )
    )
    scenarios = scenario_table(evaluation)
    if scenarios is not None:
        rate = evaluation.params.scenario_alert_rate
        console.print(_rich(scenarios, f"recall per scenario at the {rate:.1%} alert threshold"))
    if card:
        for path in update_model_cards(evaluation, registry, files.markdown.resolve()):
            console.print(f"updated {path}")
    console.print(f"report: {folder / REPORT_MD} and {folder / REPORT_HTML}")
