"""PNG plots of an evaluation: PR and ROC curves, score distributions, scenario recall.

Figures are built with matplotlib's object API on the Agg canvas (no pyplot, no global
backend switch), so plotting is safe in any process and needs no display.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve

from models.evaluation.exceptions import EvaluationError

if TYPE_CHECKING:
    from models.evaluation.harness import Evaluation

PR_CURVES = "pr_curves.png"
ROC_CURVES = "roc_curves.png"
SCORE_DISTRIBUTIONS = "score_distributions.png"
SCENARIO_RECALL = "scenario_recall.png"
DAILY_PRECISION = "daily_account_precision.png"
DPI = 110
#: line styles cycled so that identical curves stay visible on top of each other
STYLES = ("-", "--", ":", "-.")


def _style(i: int) -> dict[str, Any]:
    return {"linestyle": STYLES[i % len(STYLES)], "linewidth": 2.2 - 0.4 * (i % len(STYLES))}


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise EvaluationError(
            "plots need matplotlib: pip install matplotlib (or the `train` extra)"
        ) from err
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Any, path: Path) -> Path:
    figure.savefig(path, dpi=DPI)
    return path


def pr_curves(evaluation: Evaluation, path: Path) -> Path:
    figure = _figure(7, 5)
    ax = figure.add_subplot()
    for i, result in enumerate(evaluation.results):
        precision, recall, _ = precision_recall_curve(evaluation.y, result.scores)
        ap = result.metrics.get("average_precision", float("nan"))
        label = f"{result.name} (AP {ap:.3f})"
        ax.step(recall, precision, where="post", label=label, **_style(i))
    base = evaluation.test_frauds / max(evaluation.test_events, 1)
    ax.axhline(base, color="grey", linestyle=":", label=f"base rate {base:.2%}")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02))
    ax.set_title("Precision-recall on the test period")
    ax.legend(loc="best", fontsize="small")
    ax.grid(alpha=0.3)
    return _save(figure, path)


def roc_curves(evaluation: Evaluation, path: Path) -> Path:
    figure = _figure(7, 5)
    ax = figure.add_subplot()
    floor = 1.0 / max(evaluation.test_events - evaluation.test_frauds, 1)
    for i, result in enumerate(evaluation.results):
        fpr, tpr, _ = roc_curve(evaluation.y, result.scores)
        auc = result.metrics.get("roc_auc", float("nan"))
        label = f"{result.name} (AUC {auc:.4f})"
        ax.step(np.maximum(fpr, floor), tpr, where="post", label=label, **_style(i))
    ax.set_xscale("log")
    ax.set(xlabel="false positive rate (log scale)", ylabel="true positive rate (recall)")
    ax.set(xlim=(floor, 1), ylim=(0, 1.02))
    ax.set_title("ROC on the test period")
    ax.legend(loc="lower right", fontsize="small")
    ax.grid(alpha=0.3, which="both")
    return _save(figure, path)


def score_distributions(evaluation: Evaluation, path: Path) -> Path:
    results = evaluation.results
    cols = min(2, len(results))
    rows = (len(results) + cols - 1) // cols
    figure = _figure(6 * cols, 3.2 * rows)
    fraud = evaluation.y == 1
    for i, result in enumerate(results):
        ax = figure.add_subplot(rows, cols, i + 1)
        low, high = float(result.scores.min()), float(result.scores.max())
        bins = np.linspace(low, high if high > low else low + 1e-6, 50)
        for label, chosen, colour in (("genuine", ~fraud, "tab:blue"), ("fraud", fraud, "tab:red")):
            if chosen.any():
                ax.hist(
                    result.scores[chosen],
                    bins=bins,
                    density=True,
                    alpha=0.55,
                    color=colour,
                    label=f"{label} ({int(chosen.sum()):,})",
                )
        ax.set_yscale("log")
        ax.set_title(f"{result.name}: {result.output}", fontsize="medium")
        ax.set_xlabel("score")
        ax.set_ylabel("density (log)")
        ax.legend(fontsize="small")
    return _save(figure, path)


def scenario_recall(evaluation: Evaluation, path: Path) -> Path | None:
    """Grouped bars of recall per scenario; None when the log has no scenario codes."""
    names = sorted({s for r in evaluation.results for s in r.scenarios})
    if not names:
        return None
    figure = _figure(max(7, 1.6 * len(names)), 4.5)
    ax = figure.add_subplot()
    width = 0.8 / len(evaluation.results)
    x = np.arange(len(names))
    for i, result in enumerate(evaluation.results):
        recalls = [result.scenarios[n].recall if n in result.scenarios else 0.0 for n in names]
        ax.bar(
            x + (i - (len(evaluation.results) - 1) / 2) * width, recalls, width, label=result.name
        )
    counts = {
        n: next(r.scenarios[n].frauds for r in evaluation.results if n in r.scenarios)
        for n in names
    }
    ax.set_xticks(x, [f"{n}\n({counts[n]} frauds)" for n in names], fontsize="small")
    rate = evaluation.params.scenario_alert_rate
    ax.set(ylabel="recall", ylim=(0, 1.05))
    ax.set_title(f"Recall per fraud scenario at the {rate:.1%} alert-rate threshold")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3, axis="y")
    return _save(figure, path)


def daily_precision(evaluation: Evaluation, path: Path) -> Path:
    figure = _figure(7, 4)
    ax = figure.add_subplot()
    k = evaluation.params.top_accounts
    ceiling = evaluation.account_ceiling
    named = [(r.name, r.daily) for r in evaluation.results]
    for i, (name, daily) in enumerate(named):
        ax.plot(
            np.array(daily.days, dtype="datetime64[D]"),
            daily.precision,
            marker="o",
            label=f"{name} (mean {daily.mean:.3f})",
            **_style(i),
        )
    ax.plot(
        np.array(ceiling.days, dtype="datetime64[D]"),
        ceiling.precision,
        color="grey",
        linestyle="--",
        label=f"perfect ranking (mean {ceiling.mean:.3f})",
    )
    ax.set(ylabel=f"precision of the top {k} accounts", ylim=(0, 1.05))
    ax.set_title(f"Daily account precision@{k} (caught accounts leave the ranking)")
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    figure.autofmt_xdate()
    return _save(figure, path)


def write_plots(evaluation: Evaluation, folder: Path) -> list[Path]:
    """Every plot into ``folder``; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [
        pr_curves(evaluation, folder / PR_CURVES),
        roc_curves(evaluation, folder / ROC_CURVES),
        score_distributions(evaluation, folder / SCORE_DISTRIBUTIONS),
        scenario_recall(evaluation, folder / SCENARIO_RECALL),
        daily_precision(evaluation, folder / DAILY_PRECISION),
    ]
    return [p for p in written if p is not None]
