"""The report of a retrain run: Markdown and HTML, with one PNG of champion vs challenger."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.evaluation.document import (
    Block,
    Bullets,
    Heading,
    Image,
    Paragraph,
    Table,
    to_html,
    to_markdown,
)
from models.evaluation.exceptions import EvaluationError
from models.retrain.rule import Comparison

if TYPE_CHECKING:
    from models.retrain.run import RetrainResult

REPORT_MD = "report.md"
REPORT_HTML = "report.html"
PLOT_PNG = "champion_vs_challenger.png"


def _num(value: float, digits: int = 4) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _metrics_table(comparisons: dict[str, Comparison]) -> Table:
    rows = []
    for name, c in comparisons.items():
        for label, attr, digits in (
            ("average precision", "average_precision", 4),
            ("recall at review thresholds", "recall", 4),
            ("FPR at champion's recall", "fpr_at_champion_recall", 5),
        ):
            old, new = getattr(c.champion, attr), getattr(c.challenger, attr)
            rows.append([name, label, _num(old, digits), _num(new, digits),
                         _num(new - old, digits)])  # fmt: skip
        rows.append([name, "events / frauds", f"{c.champion.events} / {c.champion.frauds}", "", ""])
    return Table(["set", "metric", "champion", "challenger", "change"], rows, {2, 3, 4})


def _scenario_table(comparisons: dict[str, Comparison], checked: set[str]) -> Table:
    rows = []
    for name, c in comparisons.items():
        for scenario in sorted(c.champion.scenarios):
            frauds = c.champion.scenarios[scenario][0]
            old = c.champion.scenario_recall(scenario)
            new = c.challenger.scenario_recall(scenario)
            rule = "checked" if f"{name}.scenario.{scenario}" in checked else "reported"
            rows.append([name, scenario, str(frauds), _num(old, 3), _num(new, 3),
                         f"{(new - old) * 100:+.1f}", rule])  # fmt: skip
    return Table(["set", "scenario", "frauds", "champion", "challenger", "points", "rule"], rows,
                 {2, 3, 4, 5})  # fmt: skip


#: said instead of an empty table when no set's frauds name their scenario
NO_SCENARIOS = (
    "No fraud in these sets names its scenario (no label carries a fraud_type), so the "
    "rule's per-scenario recall check could not run: a pattern the challenger forgot shows "
    "only in each set's average precision and recall above."
)
SCENARIOS_NOTE = (
    "Recall at each model's review thresholds. `checked`: the promotion rule tested the "
    "drop; `reported`: too few frauds for the rule's minimum, or frauds of no named type."
)


def scenario_blocks(comparisons: dict[str, Comparison], checked: set[str]) -> list[Block]:
    """The per-scenario table (``checked``: the names of the rule's checks that ran), or a
    plain statement that the check could not run."""
    if not any(c.champion.scenarios for c in comparisons.values()):
        return [Heading("Recall per scenario"), Paragraph(NO_SCENARIOS)]
    return [
        Heading("Recall per scenario"),
        Paragraph(SCENARIOS_NOTE),
        _scenario_table(comparisons, checked),
    ]


def plot(comparisons: dict[str, Comparison], path: Path) -> Path | None:
    """Bars of AP and FPR per set, and recall per scenario, champion beside challenger."""
    if not comparisons:
        return None
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise EvaluationError("the retrain plot needs matplotlib: pip install matplotlib") from err
    figure = Figure(figsize=(11, 4.5), layout="constrained")
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2)
    labels: list[str] = []
    champion: list[float] = []
    challenger: list[float] = []
    for name, c in comparisons.items():
        labels += [f"{name}\nAP", f"{name}\nFPR x100"]
        champion += [c.champion.average_precision, 100 * c.champion.fpr_at_champion_recall]
        challenger += [c.challenger.average_precision, 100 * c.challenger.fpr_at_champion_recall]
    _bars(left, labels, champion, challenger, "metrics (FPR at the champion's recall)")
    labels, champion, challenger = [], [], []
    for name, c in comparisons.items():
        for scenario in sorted(c.champion.scenarios):
            labels.append(f"{name}\n{scenario}")
            champion.append(c.champion.scenario_recall(scenario))
            challenger.append(c.challenger.scenario_recall(scenario))
    if labels:
        _bars(right, labels, champion, challenger, "recall per scenario")
        right.set_ylim(0, 1.05)
    else:
        right.set_axis_off()
        right.text(0.5, 0.5, "no scenario codes", ha="center")
    figure.savefig(path, dpi=110)
    return path


def _bars(ax: Any, labels: list[str], old: list[float], new: list[float], title: str) -> None:
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], old, width=0.4, label="champion")
    ax.bar([x + 0.2 for x in xs], new, width=0.4, label="challenger", hatch="//")
    ax.set_xticks(list(xs), labels, fontsize=7, rotation=30, ha="right")
    ax.set_title(title)
    ax.legend()


def calibration_blocks(result: RetrainResult) -> list[Block]:
    """The challenger's cut-offs per channel, set to the champion's false-alarm share."""

    def cut(value: float | None) -> str:
        return "own" if value is None else f"{value:.6g}"

    return [
        Heading("Thresholds per channel"),
        Paragraph(
            f"{result.challenger} is {result.trained} with, in each channel, the cut-offs "
            "at which it raises as many false alarms on the recent window as the champion "
            "did, at most the share of the champion's alert budget (`own`: too few to "
            "measure; the event type's cut-off applies)."
        ),
        Table(
            ["key", "genuine events", "champion reviewed / blocked",
             "challenger reviews / blocks", "review ≥", "block ≥"],
            [
                [key, str(k["genuine"]), f"{k['champion_reviewed']} / {k['champion_blocked']}",
                 f"{k['reviewed']} / {k['blocked']}", cut(k["review"]), cut(k["block"])]
                for key, k in result.calibration.items()
            ],
            {1, 2, 3, 4, 5},
        ),
    ]  # fmt: skip


def report_blocks(result: RetrainResult, image: str | None) -> list[Block]:
    gate = result.gate
    blocks: list[Block] = [
        Heading(f"Retrain {result.started_at:%Y-%m-%d %H:%M} UTC — {result.outcome.value}", 1),
        Paragraph(result.headline),
        Bullets(
            [
                f"data: {result.data_dir}",
                "reference window: "
                + str(result.reference_dir or "none (drift and rate checks skipped)"),
                f"champion: {result.champion}",
                f"challenger: {result.challenger or 'not trained'}"
                + (
                    f" (thresholds per channel; as trained: {result.trained})"
                    if result.trained
                    else ""
                ),
                f"regression set: {result.regression_dir or 'n/a'}"
                + (" (frozen by this run)" if result.regression_created else ""),
                "seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in result.seconds.items()),
            ]
        ),
        Heading("Data gate"),
        Paragraph(
            f"{'passed' if gate.passed else 'FAILED'}: {gate.evaluated} expectations evaluated, "
            f"{len(gate.failed)} failed, {len(gate.skipped)} checks skipped. "
            f"Summary: {gate.summary_markdown}"
        ),
    ]
    if gate.failed:
        blocks.append(
            Table(
                ["check", "expectation", "observed"],
                [[f.check, f.description, f.observed_text(examples=2)] for f in gate.failed],
            )
        )
    if result.data:
        blocks += [
            Heading("Training data"),
            Table(["what", "value"], [[k, str(v)] for k, v in result.data.items()], {1}),
        ]
    if result.calibration:
        blocks += calibration_blocks(result)
    if result.comparisons:
        blocks += [Heading("Champion vs challenger"), _metrics_table(result.comparisons)]
        ran = {c.name for c in result.decision.checks} if result.decision else set()
        blocks += scenario_blocks(result.comparisons, ran)
        if image:
            blocks.append(Image(image, "champion vs challenger"))
    if result.decision is not None:
        blocks += [
            Heading("Decision"),
            Paragraph(result.headline),
            Table(
                ["check", "passed", "detail"],
                [[c.name, "yes" if c.passed else "NO", c.detail] for c in result.decision.checks],
            ),
        ]
    return blocks


def write_report(result: RetrainResult) -> tuple[Path, Path]:
    """``report.md`` and ``report.html`` (and the PNG) in the run's folder."""
    folder = result.out_dir
    image = plot(result.comparisons, folder / PLOT_PNG)
    blocks = report_blocks(result, image.name if image else None)
    md, page = folder / REPORT_MD, folder / REPORT_HTML
    md.write_text(to_markdown(blocks), encoding="utf-8")
    page.write_text(to_html(f"retrain {result.outcome.value}", blocks), encoding="utf-8")
    return md, page
