"""The evaluation report: Markdown + HTML + metrics.json + PNGs, and the model-card section."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from models.card import CARD_FILE, model_card, with_evaluation
from models.evaluation.document import (
    Block,
    Bullets,
    Code,
    Heading,
    Image,
    Paragraph,
    Table,
    markdown_table,
    to_html,
    to_markdown,
)
from models.evaluation.harness import Evaluation, ModelResult
from models.evaluation.metrics import ALERT_RATES, rate_name
from models.evaluation.plots import write_plots
from models.registry import Registry

log = logging.getLogger(__name__)

REPORT_MD = "report.md"
REPORT_HTML = "report.html"
METRICS_JSON = "metrics.json"
TITLE = "fraudstream evaluation"


@dataclass(frozen=True, slots=True)
class ReportFiles:
    markdown: Path
    html: Path
    metrics: Path
    plots: list[Path]


def _num(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def _pct(rate: float) -> str:
    return f"{rate * 100:g} %"


def summary_table(evaluation: Evaluation) -> Table:
    """One row per model output: ranking, account precision and latency."""
    k = evaluation.params.top_accounts
    header = [
        "model",
        "output",
        "AUC ROC",
        "avg precision",
        *(f"recall @ {_pct(r)} alerts" for r in ALERT_RATES),
        f"daily account precision@{k}",
        "ms/event p50 / p99 (batch 1)",
        "ms/event p50 / p99 (batch 256)",
    ]
    rows = []
    for r in evaluation.results:
        m, lat = r.metrics, r.latency
        rows.append(
            [
                r.name,
                r.output,
                _num(m.get("roc_auc"), 4),
                _num(m.get("average_precision")),
                *(_num(m.get(f"recall_at_{rate_name(rate)}")) for rate in ALERT_RATES),
                _num(r.daily.mean),
                "–" if lat is None else f"{lat.single_p50_ms:.3f} / {lat.single_p99_ms:.3f}",
                "–" if lat is None else f"{lat.batched_p50_ms:.4f} / {lat.batched_p99_ms:.4f}",
            ]
        )
    return Table(header, rows, numeric=set(range(2, len(header))))


def scenario_table(evaluation: Evaluation) -> Table | None:
    """Recall per scenario at the scenario alert-rate threshold; None without scenarios."""
    names = sorted({s for r in evaluation.results for s in r.scenarios})
    if not names:
        return None
    results = evaluation.results
    header = ["scenario", "test frauds", *(r.name for r in results)]
    rows = []
    for name in names:
        frauds = next(r.scenarios[name].frauds for r in results if name in r.scenarios)
        recalls = [_num(r.scenarios[name].recall) if name in r.scenarios else "–" for r in results]
        rows.append([name, f"{frauds:,}", *recalls])
    key = f"recall_at_{rate_name(evaluation.params.scenario_alert_rate)}_threshold"
    rows.append(
        ["all frauds", f"{evaluation.test_frauds:,}", *(_num(r.metrics.get(key)) for r in results)]
    )
    return Table(header, rows, numeric=set(range(1, len(header))))


_DECISION_KEYS = ("review_rate", "recall_at_review", "block_rate", "recall_at_block")


def _decision_table(evaluation: Evaluation) -> Table:
    header = ["model", "review rate", "recall at review", "block rate", "recall at block"]
    rows = [
        [
            r.name,
            *(_num(r.metrics.get(key), 4 if key.endswith("rate") else 3) for key in _DECISION_KEYS),
        ]
        for r in evaluation.results
        if "review_rate" in r.metrics
    ]
    return Table(header, rows, numeric={1, 2, 3, 4})


def _accounts_table(evaluation: Evaluation) -> Table:
    k = evaluation.params.top_accounts
    header = ["model", f"mean daily precision@{k}", "worst day", "days", "fraud accounts caught"]
    named = [(r.name, r.daily) for r in evaluation.results]
    named.append(("perfect ranking (ceiling)", evaluation.account_ceiling))
    rows = [
        [
            name,
            _num(daily.mean),
            _num(min(daily.precision) if daily.precision else None),
            str(len(daily.days)),
            f"{daily.caught} / {daily.fraudulent}",
        ]
        for name, daily in named
    ]
    return Table(header, rows, numeric={1, 2, 3})


def _data_bullets(evaluation: Evaluation, data_notes: Mapping[str, str]) -> list[str]:
    split = evaluation.split
    rate = evaluation.frauds / max(evaluation.events, 1)
    test_rate = evaluation.test_frauds / max(evaluation.test_events, 1)
    train, val, test = evaluation.fractions
    return [
        f"source: {evaluation.source}",
        *(f"{key}: {value}" for key, value in data_notes.items()),
        f"events: {evaluation.events:,}, fraud events: {evaluation.frauds:,} ({rate:.2%})",
        f"period: {split.start:%Y-%m-%d %H:%M} → {split.end:%Y-%m-%d %H:%M} UTC",
        f"time split {train:g} / {val:g} / {test:g}: train before {split.train_end:%Y-%m-%d %H:%M}"
        f", validation before {split.val_end:%Y-%m-%d %H:%M}, test from then on",
        f"test period: {evaluation.test_events:,} events, {evaluation.test_frauds:,} frauds "
        f"({test_rate:.2%})",
        f"labels reach merchant risk {evaluation.label_delay_days:g} days after the event when "
        "the log gives no arrival time",
    ]


def _definitions(evaluation: Evaluation) -> list[str]:
    k = evaluation.params.top_accounts
    rate = _pct(evaluation.params.scenario_alert_rate)
    return [
        "all metrics on the test period only; unlabelled events count as genuine",
        "recall @ x % alerts: share of fraud events among the x % highest-scored events",
        f"daily account precision@{k}: each UTC day, accounts ranked by their highest score "
        f"that day; share of the top {k} with a fraud event that day; an account caught "
        "(fraudulent and in a day's top) leaves the ranking on later days",
        f"scenario recall: share of a scenario's fraud events at or above the threshold that "
        f"alerts {rate} of test events",
        "review / block: the model's own thresholds (chosen on its validation period)",
        "latency: ONNX Runtime, one intra-op thread, the scorer's whole call (inputs + run), "
        "per event; measured on this machine",
    ]


def report_blocks(
    evaluation: Evaluation, *, command: str, data_notes: Mapping[str, str], plots: list[str]
) -> list[Block]:
    blocks: list[Block] = [
        Heading(TITLE, 1),
        Paragraph(f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by:"),
        Code(command),
        Heading("Data"),
        Bullets(_data_bullets(evaluation, data_notes)),
        Heading("Results"),
        summary_table(evaluation),
        Heading("Decisions at the models' thresholds", 3),
        _decision_table(evaluation),
    ]
    scenarios = scenario_table(evaluation)
    if scenarios is not None:
        rate = _pct(evaluation.params.scenario_alert_rate)
        blocks += [
            Heading(f"Recall per fraud scenario at the {rate} alert threshold", 3),
            scenarios,
        ]
    blocks += [Heading("Accounts an analyst team would review", 3), _accounts_table(evaluation)]
    anomaly = [r for r in evaluation.registered if "anomaly_roc_auc" in r.metrics]
    if anomaly:
        rows = [
            [
                r.name,
                _num(r.metrics["anomaly_roc_auc"], 4),
                _num(r.metrics.get("anomaly_average_precision")),
            ]
            for r in anomaly
        ]
        blocks += [
            Heading("Anomaly outputs of the registered models", 3),
            Table(["model", "anomaly AUC ROC", "anomaly avg precision"], rows, numeric={1, 2}),
        ]
    notes = [f"{r.name}: {note}" for r in evaluation.results for note in dict.fromkeys(r.notes)]
    blocks += [
        Heading("Plots"),
        *(Image(name, name.removesuffix(".png").replace("_", " ")) for name in plots),
        Heading("Notes"),
        Bullets([*notes, *_definitions(evaluation)]),
    ]
    return blocks


def _metrics_json(evaluation: Evaluation, command: str) -> dict[str, object]:
    def clean(value: float) -> float | None:
        return None if math.isnan(value) else value

    def result(r: ModelResult) -> dict[str, object]:
        return {
            "name": r.name,
            "version": r.version,
            "kind": r.kind,
            "output": r.output,
            "metrics": {k: clean(v) for k, v in sorted(r.metrics.items())},
            "scenarios": {
                name: {"frauds": s.frauds, "caught": s.caught, "recall": clean(s.recall)}
                for name, s in r.scenarios.items()
            },
            "daily_account_precision": dict(zip(r.daily.days, r.daily.precision, strict=True)),
            "notes": r.notes,
        }

    return {
        "command": command,
        "source": evaluation.source,
        "split": evaluation.split.to_dict(),
        "fractions": list(evaluation.fractions),
        "events": evaluation.events,
        "frauds": evaluation.frauds,
        "test_events": evaluation.test_events,
        "test_frauds": evaluation.test_frauds,
        "results": [result(r) for r in evaluation.results],
    }


def write_report(
    evaluation: Evaluation,
    out: Path,
    *,
    command: str,
    data_notes: Mapping[str, str] | None = None,
) -> ReportFiles:
    """report.md, report.html, metrics.json and the PNGs into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    plots = write_plots(evaluation, out)
    blocks = report_blocks(
        evaluation, command=command, data_notes=data_notes or {}, plots=[p.name for p in plots]
    )
    markdown = out / REPORT_MD
    markdown.write_text(to_markdown(blocks), encoding="utf-8")
    page = out / REPORT_HTML
    page.write_text(to_html(TITLE, blocks), encoding="utf-8")
    metrics = out / METRICS_JSON
    metrics.write_text(
        json.dumps(_metrics_json(evaluation, command), indent=2, allow_nan=False) + "\n",
        encoding="utf-8",
    )
    log.info("evaluation report written out=%s plots=%d", out, len(plots))
    return ReportFiles(markdown=markdown, html=page, metrics=metrics, plots=plots)


def card_section(evaluation: Evaluation, report: Path | None = None) -> str:
    """The model card's evaluation section: the results table and scenario recall."""
    split = evaluation.split
    lines = [
        "## Evaluation",
        "",
        f"Test period of {evaluation.source}: {split.val_end:%Y-%m-%d %H:%M} → "
        f"{split.end:%Y-%m-%d %H:%M} UTC, {evaluation.test_events:,} events, "
        f"{evaluation.test_frauds:,} frauds; evaluated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        + (f"; full report: {report}" if report else "")
        + ".",
        "",
        *markdown_table(summary_table(evaluation)),
        "",
    ]
    scenarios = scenario_table(evaluation)
    if scenarios is not None:
        lines += ["Recall per fraud scenario:", "", *markdown_table(scenarios), ""]
    return "\n".join(lines)


def update_model_cards(
    evaluation: Evaluation, registry: Registry, report: Path | None = None
) -> list[Path]:
    """Write the evaluation section into the card of every evaluated registered version."""
    section = card_section(evaluation, report)
    written = []
    for version in dict.fromkeys(r.version for r in evaluation.registered):
        path = registry.path(version) / CARD_FILE
        try:
            card = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            card = model_card(registry.manifest(version))
        path.write_text(with_evaluation(card, section), encoding="utf-8")
        written.append(path)
    return written
