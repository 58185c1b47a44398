"""``fraudstream retrain``: gate the new data, train a challenger, promote it when it is
better, and tell the running workers (the Kafka side of a promotion lives here)."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from data_quality import GateConfig
from models.registry import Registry
from models.retrain import (
    THRESHOLD_POLICIES,
    Outcome,
    PromotionRule,
    RetrainConfig,
    RetrainResult,
    WatchConfig,
    retrain,
    watch,
)
from pipeline.cli.check_data import failures_table
from pipeline.cli.context import settings_of
from pipeline.kafka.publish import publish_model_update
from schemas import FraudstreamError

console = Console()
err_console = Console(stderr=True)
REPORTS_DIR = "retrain"
REGRESSION_DIR = "regression"


def _metrics_table(result: RetrainResult) -> Table:
    table = Table(title=f"{result.champion} vs {result.challenger}", title_justify="left")
    for column in ("set", "metric", "champion", "challenger"):
        table.add_column(
            column, justify="right" if column in ("champion", "challenger") else "left"
        )
    for name, c in result.comparisons.items():
        table.add_row(name, "average precision", f"{c.champion.average_precision:.4f}",
                      f"{c.challenger.average_precision:.4f}")  # fmt: skip
        table.add_row(name, "FPR at champion's recall", f"{c.champion.fpr_at_champion_recall:.5f}",
                      f"{c.challenger.fpr_at_champion_recall:.5f}")  # fmt: skip
        for scenario in sorted(c.champion.scenarios):
            table.add_row(name, f"recall {scenario}",
                          f"{c.champion.scenario_recall(scenario):.3f}",
                          f"{c.challenger.scenario_recall(scenario):.3f}")  # fmt: skip
    return table


def _checks_table(result: RetrainResult) -> Table:
    table = Table(title="promotion rule", title_justify="left")
    table.add_column("check")
    table.add_column("passed")
    table.add_column("detail", overflow="fold")
    for check in result.decision.checks if result.decision else ():
        table.add_row(check.name, "[green]yes[/]" if check.passed else "[red]no[/]", check.detail)
    return table


def retrain_command(
    ctx: typer.Context,
    data: Path | None = typer.Option(
        None,
        "--data",
        help="new data (events/ + feedback/ day folders) (default: the training store)",
        show_default=False,
    ),
    reference: Path | None = typer.Option(
        None,
        "--reference",
        help="reference window for the gate (default: the champion's training data)",
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="report folder (default: <FRAUDSTREAM_HOME>/retrain/<timestamp>)",
        show_default=False,
    ),
    publish: bool = typer.Option(
        True, "--publish/--no-publish", help="announce a promotion on fraud.model-updates.v1"
    ),
    promote: bool = typer.Option(
        True, "--promote/--no-promote", help="promote a challenger that passes the rule"
    ),
    bootstrap: str | None = typer.Option(None, "--bootstrap", help="Kafka bootstrap servers"),
    fp_weight: float = typer.Option(
        RetrainConfig.false_positive_weight,
        "--fp-weight",
        help="training weight of reviewed false positives",
    ),
    replay_share: float = typer.Option(
        RetrainConfig.replay_share,
        "--replay-share",
        help="share of older accounts replayed into training, against forgetting",
    ),
    replay_fraud_weight: float = typer.Option(
        RetrainConfig.replay_fraud_weight,
        "--replay-fraud-weight",
        help="training weight of a confirmed fraud among the replayed older events",
    ),
    replay_all_frauds: bool = typer.Option(
        RetrainConfig.replay_all_frauds,
        "--replay-all-frauds/--replay-sampled-frauds",
        help="replay every older account with a confirmed fraud, not only the sampled share",
    ),
    regression_min_frauds: int = typer.Option(
        RetrainConfig.regression_min_frauds,
        "--regression-min-frauds",
        min=0,
        help="frauds of each type the regression set holds when first frozen, taken from "
        "training (0: a hashed share of accounts only)",
    ),
    label_maturity_days: float | None = typer.Option(
        None,
        "--label-maturity-days",
        help="days until an event's labels are complete; the comparison window ends that "
        "long before the data (default: measured on the data's chargebacks and claims)",
        show_default=False,
    ),
    threads: int | None = typer.Option(None, "--threads", help="CPU threads for training"),
    thresholds: str = typer.Option(
        RetrainConfig.thresholds,
        "--thresholds",
        help="the challenger's cut-offs: channel-fpr (in each channel the champion's share "
        "of false alarms on the recent window, its own per event type), champion-fpr (the "
        "champion's share per event type too) or own (a share of its validation events)",
    ),
    max_ap_drop: float = typer.Option(
        PromotionRule.max_ap_drop,
        "--max-ap-drop",
        help="promotion rule: largest average-precision drop allowed on any set",
    ),
    max_scenario_recall_drop: float = typer.Option(
        PromotionRule.max_scenario_recall_drop,
        "--max-scenario-recall-drop",
        help="promotion rule: largest recall drop of any fraud scenario (0.02 = 2 points)",
    ),
    min_scenario_frauds: int = typer.Option(
        PromotionRule.min_scenario_frauds,
        "--min-scenario-frauds",
        min=1,
        help="promotion rule: a scenario with fewer frauds in a set is reported, not checked",
    ),
    fpr_sets: str = typer.Option(
        ",".join(PromotionRule.fpr_sets),
        "--fpr-sets",
        help="promotion rule: sets (recent, regression) where the false-positive rate at the "
        "champion's recall must go down; empty for none",
    ),
    watch_mode: bool = typer.Option(
        False, "--watch", help="keep running: retrain on new labels or after a period"
    ),
    watch_labels: int = typer.Option(
        10_000, "--watch-labels", help="with --watch: rerun after this many new labels"
    ),
    watch_every: float = typer.Option(
        86_400.0, "--watch-every", help="with --watch: rerun after this many seconds"
    ),
    watch_poll: float = typer.Option(
        60.0, "--watch-poll", help="with --watch: seconds between two counts of the labels"
    ),
) -> None:
    """Gate new data, warm-start a challenger, compare it with the champion, maybe promote.

    Exits 1 when the data gate refuses the data (nothing is trained, the champion stays).
    With --watch it keeps going instead, rerunning on new labels or after a period.
    """
    settings = settings_of(ctx)
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("great_expectations").setLevel(logging.WARNING)
    data_dir = data or settings.store_dir
    registry = Registry(settings.registry_dir)
    try:
        rule = PromotionRule(
            max_ap_drop=max_ap_drop,
            max_scenario_recall_drop=max_scenario_recall_drop,
            min_scenario_frauds=min_scenario_frauds,
            fpr_sets=tuple(name.strip() for name in fpr_sets.split(",") if name.strip()),
        )
    except FraudstreamError as err:
        raise typer.BadParameter(str(err)) from err
    if thresholds not in THRESHOLD_POLICIES:
        raise typer.BadParameter(
            f"--thresholds {thresholds!r}: choose {', '.join(THRESHOLD_POLICIES)}"
        )

    def once() -> RetrainResult:
        now = datetime.now(UTC)
        out_dir = (
            out / now.strftime("%Y%m%dT%H%M%SZ")
            if out and watch_mode
            else out or settings.home / REPORTS_DIR / now.strftime("%Y%m%dT%H%M%SZ")
        )
        defaults = RetrainConfig()
        config = dataclasses.replace(
            defaults,
            gate=GateConfig(time_bounds=settings.decode_limits().time_bounds, now=now),
            baseline=dataclasses.replace(defaults.baseline, threads=threads),
            transformer=dataclasses.replace(defaults.transformer, threads=threads),
            false_positive_weight=fp_weight,
            replay_share=replay_share,
            replay_fraud_weight=replay_fraud_weight,
            replay_all_frauds=replay_all_frauds,
            regression_min_frauds=regression_min_frauds,
            label_maturity_days=label_maturity_days,
            thresholds=thresholds,
            rule=rule,
        )
        with console.status("[bold]retraining[/] on " + str(data_dir)):
            result = retrain(
                data_dir,
                registry,
                settings.home / REGRESSION_DIR,
                out_dir,
                reference_dir=reference,
                config=config,
                promote=promote,
            )
        _show(result)
        if result.promoted and publish and result.challenger is not None:
            _publish(registry, result.challenger, bootstrap or settings.kafka_bootstrap)
        return result

    if watch_mode:
        config = WatchConfig(labels=watch_labels, every_s=watch_every, poll_s=watch_poll)
        watch(once, data_dir, config)
        return
    if once().outcome is Outcome.REFUSED:
        raise typer.Exit(1)


def _show(result: RetrainResult) -> None:
    report = result.out_dir / "report.html"
    if result.outcome is Outcome.REFUSED:
        console.print(failures_table(result.gate))
        console.print(f"report: {report}")
        err_console.print(f"[bold red]{result.headline}[/]", soft_wrap=True)
        return
    console.print(_metrics_table(result))
    console.print(_checks_table(result))
    console.print(f"report: {report}")
    style = "bold green" if result.promoted else "bold yellow"
    console.print(f"[{style}]{result.headline}[/]", soft_wrap=True)


def _publish(registry: Registry, version: str, bootstrap: str) -> None:
    update = registry.update_record(version)
    try:
        publish_model_update(bootstrap, update)
    except FraudstreamError as err:
        err_console.print(
            f"[bold red]{version} is current but the workers were not told: {err}; "
            f"announce it with `fraudstream model promote {version}`[/]",
            soft_wrap=True,
        )
        raise typer.Exit(1) from err
    console.print(f"published on fraud.model-updates.v1 (sha256 {update.sha256[:12]}…)")
