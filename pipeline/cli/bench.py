"""``fraudstream bench …``: benchmarks that run the real pipeline and report what they measured."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from models.baseline import BaselineParams
from models.retrain import THRESHOLD_POLICIES, RetrainConfig
from pipeline.bench import (
    Distribution,
    E2EConfig,
    E2EReport,
    IncompleteRunError,
    Mode,
    run_e2e,
    save_report,
)
from pipeline.bench.continual import MODELS as CONTINUAL_MODELS
from pipeline.bench.continual import REPORT_JSON, REPORT_MD, ContinualConfig, run_continual
from pipeline.bench.continual_world import SHIFTS, WorldConfig
from pipeline.bench.report import WARM_UP_S
from pipeline.bench.warmup import WARMUP_RECORDS
from pipeline.cli.context import settings_of
from pipeline.cli.progress import StageProgress, stage_progress
from pipeline.simulator.config import KAFKA_LINGER_MS

bench_app = typer.Typer(help="Benchmarks of the running pipeline.", no_args_is_help=True)
console = Console()
GUARANTEES = ("at_least_once", "exactly_once")


@bench_app.command("e2e")
def e2e(
    ctx: typer.Context,
    events: int = typer.Option(50_000, "--events", min=1, help="events to produce"),
    rate: float | None = typer.Option(
        None, "--rate", min=1.0, help="live: events/s [default: as fast as the producer goes]"
    ),
    linger_ms: int = typer.Option(
        KAFKA_LINGER_MS,
        "--linger-ms",
        min=0,
        max=10_000,
        help="the producer's linger (part of the produce → score latency)",
    ),
    mode: Mode = typer.Option(
        Mode.DRAIN,
        "--mode",
        help="drain: load the topics, then start the worker (capacity); "
        "live: worker first, then produce at --rate (latency)",
    ),
    guarantee: str = typer.Option(
        "at_least_once", "--guarantee", help="the worker's processing guarantee"
    ),
    batch_max: int | None = typer.Option(
        None, "--batch-max", min=1, help="[default: FRAUDSTREAM_BATCH_MAX]"
    ),
    batch_within_ms: float | None = typer.Option(
        None, "--batch-within-ms", min=0.1, help="[default: FRAUDSTREAM_BATCH_WITHIN_MS]"
    ),
    partitions: int | None = typer.Option(
        None, "--partitions", min=1, help="[default: FRAUDSTREAM_PARTITIONS]"
    ),
    store: str | None = typer.Option(None, "--store", help="rocksdb:// or memory://"),
    accounts: int | None = typer.Option(None, "--accounts", min=10, help="simulated accounts"),
    seed: int = typer.Option(7, "--seed"),
    timeout: float = typer.Option(900.0, "--timeout", help="seconds for producing and scoring"),
    out: Path | None = typer.Option(
        None, "--out", help="JSON report [default: <home>/bench/e2e-<timestamp>.json]"
    ),
    keep: bool = typer.Option(False, "--keep", help="keep the run's broker data and tables"),
    profile: bool = typer.Option(
        False, "--profile", help="run the worker under cProfile (<run dir>/worker.prof)"
    ),
    broker_warmup: int | None = typer.Option(
        None,
        "--broker-warmup",
        min=0,
        help="live: records sent through the fresh broker on a topic of their own before "
        f"the worker starts, so its JIT is warm (0: none) [default: {WARMUP_RECORDS:,}]",
    ),
) -> None:
    """One worker on its own broker: sustained events/s, produce → score latency, stage costs."""
    if guarantee not in GUARANTEES:
        raise typer.BadParameter(f"choose one of {', '.join(GUARANTEES)}", param_hint="--guarantee")
    if mode is Mode.DRAIN and rate is not None:
        raise typer.BadParameter("--rate applies to --mode live", param_hint="--rate")
    if mode is Mode.DRAIN and broker_warmup:
        raise typer.BadParameter(
            "--broker-warmup applies to --mode live (loading a drain's backlog warms up)",
            param_hint="--broker-warmup",
        )
    settings = settings_of(ctx)
    config = E2EConfig(
        events=events, rate=rate, linger_ms=linger_ms, mode=mode, guarantee=guarantee,
        batch_max=batch_max, batch_within_ms=batch_within_ms, store=store,
        partitions=partitions, accounts=accounts,
        seed=seed, timeout_s=timeout, keep=keep, profile=profile, broker_warmup=broker_warmup,
    )  # fmt: skip
    console.rule("[bold]fraudstream bench e2e")
    report = run_e2e(config, settings, say=console.print)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = save_report(report, out or settings.home / "bench" / f"e2e-{stamp}.json")
    print_report(report)
    console.print(f"report: {path}")
    if not report.complete:
        raise IncompleteRunError(
            f"{report.counts['missing']:,} of {report.counts['valid_events']:,} events got no "
            f"Score; see the worker log in {report.context.get('run_dir')}"
        )


def _ms(d: Distribution | None) -> str:
    if d is None:
        return "—"
    return f"{d.p50:,.1f} / {d.p95:,.1f} / {d.p99:,.1f} / {d.max:,.1f}"


def _num(value: float | None, unit: str = "", digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}{unit}"


def print_report(report: E2EReport) -> None:
    c, n, ctx = report.config, report.counts, report.context
    rate = "max" if c.get("rate") is None else f"{c['rate']:g}/s"
    table = Table(
        title=f"{c['mode']} · {c['events']:,} events · {rate} · {c['guarantee']} · "
        f"batch ≤{c['batch_max']} within {c['batch_within_ms']:g} ms · "
        f"{c['partitions']} partitions · {c['store']} · {c['model_version']}"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("valid events / scored / missing",
                  f"{n['valid_events']:,} / {n['scored']:,} / {n['missing']:,}")  # fmt: skip
    table.add_row("duplicate Scores", f"{n['duplicate_scores']:,}")
    span = _num(report.scoring_span_s, " s", 1)
    table.add_row("[bold]sustained events/s[/] (first → last Score)",
                  f"[bold]{_num(report.events_per_s)}[/] over {span}")  # fmt: skip
    table.add_row("producer events/s", _num(report.produced_per_s))
    what = "produce → score" if c["mode"] == "live" else "produce → score (backlog wait)"
    table.add_row(f"{what}, ms p50/p95/p99/max", _ms(report.latency_ms))
    if c["mode"] == "live":
        table.add_row(f"  events after the first {WARM_UP_S:g} s", _ms(report.latency_warm_ms))
    table.add_row("produce → Score on Kafka, ms p50/p95/p99/max", _ms(report.delivered_latency_ms))
    table.add_row("  of which produce → batch start (Kafka hop + batching)", _ms(report.wait_ms))
    table.add_row("Score.latency_ms (batch in worker) p50/p95/p99/max", _ms(report.in_worker_ms))
    for stage, us in report.stage_us.items():
        table.add_row(f"µs/event: {stage}", f"{us:,.1f}")
    if report.cpu is not None:
        cpu = report.cpu.to_dict()
        for name, us in cpu["cpu_us_per_event"].items():
            cores = cpu["cores_busy"].get(name)
            table.add_row(f"CPU µs/event: {name} (cores busy)",
                          f"{_num(us, digits=1)} ({_num(cores, digits=2)})")  # fmt: skip
        if (host := cpu["host"]) is not None:
            table.add_row("host cores busy / outside worker + broker / stolen",
                          f"{host['busy_cores']:.2f} / {host['outside_cores']:.2f} / "
                          f"{host['steal_cores']:.2f}")  # fmt: skip
    b = report.batch_valid
    if b is not None:
        table.add_row("valid events per batch mean / p50 / p99 / max",
                      f"{b.mean:,.1f} / {b.p50:,.0f} / {b.p99:,.0f} / {b.max:,.0f}")  # fmt: skip
        table.add_row("batches (scored)", f"{b.count:,}")
    buckets = report.batch_hist.get("per_bucket", {})
    table.add_row("batch size histogram (worker)",
                  " ".join(f"{k}:{v:,.0f}" for k, v in buckets.items() if v))  # fmt: skip
    load = ctx.get("load_average", {})
    table.add_row("load average start → end", f"{load.get('start')} → {load.get('end')}")
    machine = ctx.get("machine", {})
    table.add_row("machine", f"{machine.get('cpu_model')}, {machine.get('cpus_usable')} CPUs")
    git = ctx.get("git", {})
    table.add_row(
        "commit", f"{git.get('commit', '?')[:12]}{' (dirty)' if git.get('dirty') else ''}"
    )
    console.print(table)
    targets = Table(title="targets")
    for column in ("target", "goal", "measured", "met"):
        targets.add_column(column)
    for t in report.targets:
        met = {True: "[green]yes", False: "[red]no", None: "[dim]n/a (not this run)"}[t.met]
        targets.add_row(t.name, t.goal, _num(t.measured, digits=1), met)
    console.print(targets)


@bench_app.command("continual")
def continual(
    ctx: typer.Context,
    events: int = typer.Option(150_000, "--events", min=1_000, help="events per period"),
    days: int = typer.Option(14, "--days", min=3, help="days per period"),
    model: str = typer.Option("baseline", "--model", help="champion kind: baseline or transformer"),
    seed: int = typer.Option(7, "--seed", help="the simulated world's seed"),
    shift: str = typer.Option(
        "relay", "--shift", help="genuine shift: relay (hosting networks) or category"
    ),
    fp_weight: float = typer.Option(
        RetrainConfig.false_positive_weight,
        "--fp-weight",
        min=0.001,
        help="retrain: weight of a reviewed false positive",
    ),
    replay_share: float = typer.Option(
        RetrainConfig.replay_share,
        "--replay-share",
        min=0.0,
        max=0.99,
        help="retrain: share of period-1 accounts replayed",
    ),
    replay_fraud_weight: float = typer.Option(
        RetrainConfig.replay_fraud_weight,
        "--replay-fraud-weight",
        min=0.001,
        help="retrain: weight of a confirmed fraud among the replayed events",
    ),
    replay_all_frauds: bool = typer.Option(
        RetrainConfig.replay_all_frauds,
        "--replay-all-frauds/--replay-sampled-frauds",
        help="retrain: replay every period-1 account with a fraud, not only the sampled share",
    ),
    regression_min_frauds: int = typer.Option(
        RetrainConfig.regression_min_frauds,
        "--regression-min-frauds",
        min=0,
        help="retrain: frauds of each type the regression set should hold (0: hashed share only)",
    ),
    thresholds: str = typer.Option(
        RetrainConfig.thresholds,
        "--thresholds",
        help="retrain: the challenger's cut-offs, channel-fpr (the champion's false-alarm "
        "share per channel), champion-fpr (per event type too) or own",
    ),
    threads: int = typer.Option(2, "--threads", min=1, help="CPU threads for training"),
    out: Path | None = typer.Option(
        None, "--out", help="run folder [default: <home>/bench/continual-<timestamp>]"
    ),
) -> None:
    """Train on period 1, let drift and analysts happen in period 2, retrain, score period 3."""
    if model not in CONTINUAL_MODELS:
        raise typer.BadParameter(
            f"choose one of {', '.join(CONTINUAL_MODELS)}", param_hint="--model"
        )
    if shift not in SHIFTS:
        raise typer.BadParameter(f"choose one of {', '.join(SHIFTS)}", param_hint="--shift")
    if thresholds not in THRESHOLD_POLICIES:
        raise typer.BadParameter(
            f"choose one of {', '.join(THRESHOLD_POLICIES)}", param_hint="--thresholds"
        )
    settings = settings_of(ctx)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    folder = out or settings.home / "bench" / f"continual-{stamp}"
    config = ContinualConfig(
        world=WorldConfig(events=events, days=days, seed=seed, shift=shift),
        model=model,
        baseline=BaselineParams(threads=threads),
        transformer={"threads": threads} if model == "transformer" else {},
        false_positive_weight=fp_weight,
        replay_share=replay_share,
        replay_fraud_weight=replay_fraud_weight,
        replay_all_frauds=replay_all_frauds,
        regression_min_frauds=regression_min_frauds,
        thresholds=thresholds,
    )
    console.rule("[bold]fraudstream bench continual")
    with stage_progress(console) as bars:
        report = run_continual(config, folder, progress=StageProgress(bars), say=console.print)
    print_continual(report)
    console.print(f"report: {folder / REPORT_JSON} and {folder / REPORT_MD}")


def _pct(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f} %"


def print_continual(report: dict) -> None:
    p3 = report.get("period3")
    if p3 is None:
        console.print(f"[red]no challenger: {report['retrain']['headline']}")
        return
    eq = p3["equal_recall"]
    table = Table(title=f"period 3 at the champion's recall {_pct(eq['recall'], 1)}")
    for column in ("measure", "champion", "challenger"):
        table.add_column(column, justify="right" if column != "measure" else "left")
    ap = p3["average_precision"]
    table.add_row("average precision", f"{ap['champion']:.4f}", f"{ap['challenger']:.4f}")
    for key in ("fpr", "fpr_segment", "fpr_elsewhere", "alert_rate"):
        table.add_row(key, _pct(eq["champion"][key], 3), _pct(eq["challenger"][key], 3))
    budget = p3["equal_alert_rate"]
    for name, c in sorted(budget["champion"]["scenarios"].items()):
        n = budget["challenger"]["scenarios"].get(name, {})
        table.add_row(
            f"recall {name} (at alert rate {_pct(budget['alert_rate'], 3)})",
            _pct(c["recall"], 1),
            _pct(n.get("recall"), 1),
        )
    console.print(table)
    targets = Table(title="targets")
    for column in ("target", "goal", "measured", "met"):
        targets.add_column(column)
    for t in report["targets"]:
        value = t["measured"]
        shown = "—" if value is None else f"{value * 100:+.1f}"
        targets.add_row(t["name"], t["goal"], shown, "[green]yes" if t["met"] else "[red]no")
    console.print(targets)
