"""``fraudstream simulate``: a seeded, realistic bank event stream to Parquet or Kafka.

``simulate`` is also a group: ``fraudstream simulate analysts`` runs the analyst team
(:mod:`pipeline.cli.analysts`) while ``fraudstream simulate [OPTIONS] [DIR]`` generates.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import Counter
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from pipeline.cli import analysts as analysts_cmd
from pipeline.cli.context import settings_of
from pipeline.cli.groups import CommandWithSubcommands
from pipeline.simulator import (
    MessageStream,
    ParquetSink,
    SimulationStats,
    Simulator,
    SimulatorConfig,
    parse_delay_range,
    random_streams,
)
from pipeline.simulator.config import KAFKA_LINGER_MS, MIN_MERCHANTS
from schemas import DecodeLimits

logger = logging.getLogger(__name__)
console = Console()
DEFAULTS = SimulatorConfig()


class Target(StrEnum):
    PARQUET = "parquet"
    KAFKA = "kafka"


def simulate(
    ctx: typer.Context,
    to: Target = typer.Option(Target.PARQUET, "--to", help="parquet (give DIR) or kafka"),
    directory: Path | None = typer.Argument(
        None, metavar="[DIR]", help="output directory of --to parquet", show_default=False
    ),
    events: int = typer.Option(
        DEFAULTS.events, "--events", min=1, help="transactions + logins (labels come on top)"
    ),
    accounts: int = typer.Option(DEFAULTS.accounts, "--accounts", min=10),
    merchants: int = typer.Option(DEFAULTS.merchants, "--merchants", min=MIN_MERCHANTS),
    days: int = typer.Option(DEFAULTS.days, "--days", min=1),
    start: datetime | None = typer.Option(
        None,
        "--start",
        formats=["%Y-%m-%d"],
        help="first day, UTC [default: today - days - max label delay - 1, so every label "
        "has arrived]",
        show_default=False,
    ),
    seed: int = typer.Option(DEFAULTS.seed, "--seed", help="same seed and options, same bytes"),
    fraud_rate: float = typer.Option(DEFAULTS.fraud_rate, "--fraud-rate", min=0.0, max=0.5),
    label_delay_days: str = typer.Option(
        "{:g}-{:g}".format(*DEFAULTS.label_delay_days),
        "--label-delay-days",
        help="MIN-MAX days from a fraud to its chargeback or claim",
    ),
    genuine_label_rate: float = typer.Option(
        DEFAULTS.genuine_label_rate,
        "--genuine-label-rate",
        min=0.0,
        max=1.0,
        help="share of genuine events that get an analyst or customer label",
    ),
    rate: float | None = typer.Option(
        None, "--rate", min=0.001, help="kafka: events per second [default: as fast as possible]"
    ),
    linger_ms: int = typer.Option(
        KAFKA_LINGER_MS,
        "--linger-ms",
        min=0,
        max=10_000,
        help="kafka: how long the producer waits to fill a record batch",
    ),
    malformed_rate: float = typer.Option(
        0.0,
        "--malformed-rate",
        min=0.0,
        max=1.0,
        help="kafka: broken messages per valid event, sent on top of --events",
    ),
    bootstrap: str | None = typer.Option(
        None, "--bootstrap", help="kafka bootstrap servers [default: FRAUDSTREAM_KAFKA_BOOTSTRAP]"
    ),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="parquet: replace the events/ and feedback/ datasets in DIR"
    ),
) -> None:
    """Generate a realistic, labelled bank event stream (same seed, same output).

    `fraudstream simulate analysts` runs the analyst team that answers the alerts.
    """
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_of(ctx)
    if to is Target.PARQUET:
        if directory is None:
            raise typer.BadParameter(
                "give the output directory: --to parquet DIR", param_hint="DIR"
            )
        if malformed_rate > 0:
            raise typer.BadParameter(
                "malformed messages only exist on Kafka; a Parquet dataset holds valid rows",
                param_hint="--malformed-rate",
            )
        if rate is not None:
            raise typer.BadParameter("pacing only applies to --to kafka", param_hint="--rate")
    elif directory is not None:
        raise typer.BadParameter("--to kafka takes no DIR", param_hint="DIR")

    config = SimulatorConfig(
        events=events,
        accounts=accounts,
        merchants=merchants,
        days=days,
        start=start.date() if start else None,
        seed=seed,
        fraud_rate=fraud_rate,
        label_delay_days=parse_delay_range(label_delay_days),
        genuine_label_rate=genuine_label_rate,
        malformed_rate=malformed_rate,
        not_after=datetime.now(UTC),
    )
    started = time.perf_counter()
    simulator = Simulator(config)
    with _progress() as progress:
        task = progress.add_task(to.value, total=events)
        if directory is not None:
            _to_parquet(simulator, ParquetSink(directory, overwrite=overwrite), progress, task)
            kafka_counts = None
        else:
            kafka_counts = _to_kafka(
                simulator,
                bootstrap or settings.kafka_bootstrap,
                rate,
                linger_ms,
                settings.decode_limits(),
                progress,
                task,
            )
    elapsed = time.perf_counter() - started
    _summary(simulator.config, simulator.stats, elapsed, to, directory, kafka_counts)


simulate_app = typer.Typer(
    cls=CommandWithSubcommands,
    callback=simulate,
    invoke_without_command=True,
    no_args_is_help=False,
    subcommand_metavar="[COMMAND [ARGS]...]",
)
simulate_app.command("analysts")(analysts_cmd.analysts)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]simulating[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def _to_parquet(simulator: Simulator, sink: ParquetSink, progress: Progress, task: TaskID) -> None:
    for out in simulator:
        sink.write(out)
        progress.update(task, advance=out.events.height, description=str(out.day))
    sink.write_manifest(_manifest(simulator.config, simulator.stats))
    sink.close()


def _to_kafka(
    simulator: Simulator,
    bootstrap: str,
    rate: float | None,
    linger_ms: int,
    limits: DecodeLimits,
    progress: Progress,
    task: TaskID,
) -> tuple[Counter[str], Counter[str]]:
    """Delivered messages by kind, malformed ones by kind."""
    from pipeline.gcpolicy import survivors_frozen
    from pipeline.simulator.kafka_sink import KafkaSink, KafkaSinkConfig  # imports kafka-python

    config = simulator.config
    stream = MessageStream(
        config.events, config.malformed_rate, random_streams(config.seed)["malformed"], limits
    )
    sink = KafkaSink(
        KafkaSinkConfig(bootstrap=bootstrap, rate=rate, linger_ms=linger_ms),
        stream,
        progress=lambda n: progress.update(task, advance=n),
    )
    # A full collection walks everything imported (about 345,000 objects, 290 ms); the
    # producer's sender thread waits for it while its records carry their timestamps, so the
    # stream would stall for everyone downstream (docs/BENCHMARKS.md).
    with survivors_frozen():
        try:
            for out in simulator:
                sink.write(out)
                progress.update(task, description=str(out.day))
        finally:
            sink.close()
    return sink.delivered, stream.malformed


def _manifest(config: SimulatorConfig, stats: SimulationStats) -> dict[str, Any]:
    options = dataclasses.asdict(config)
    options.pop("not_after")
    options["start"] = config.start_date().isoformat()
    options["scenario_mix"] = {str(k): v for k, v in config.scenario_mix.items()}
    return {
        "options": options,
        "counts": {
            "transactions": stats.transactions,
            "logins": stats.logins,
            "fraud_by_scenario": dict(sorted(stats.fraud.items())),
            "feedback_fraud": stats.feedback_fraud,
            "feedback_genuine": stats.feedback_genuine,
            "feedback_withheld": stats.feedback_withheld,
        },
    }


def _summary(
    config: SimulatorConfig,
    stats: SimulationStats,
    elapsed: float,
    to: Target,
    directory: Path | None,
    kafka_counts: tuple[Counter[str], Counter[str]] | None,
) -> None:
    table = Table(
        title=f"simulated {config.days} days from {config.start_date()}, seed {config.seed}"
    )
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_column("share", justify="right")
    n = max(stats.events, 1)
    table.add_row("events", f"{stats.events:,}", "")
    table.add_row("  transactions", f"{stats.transactions:,}", f"{stats.transactions / n:.1%}")
    table.add_row("  logins", f"{stats.logins:,}", f"{stats.logins / n:.1%}")
    table.add_row("fraud events", f"{stats.fraud_events:,}", f"{stats.fraud_events / n:.2%}")
    for scenario, count in sorted(stats.fraud.items()):
        table.add_row(f"  {scenario}", f"{count:,}", f"{count / n:.2%}")
    table.add_row("feedback: fraud", f"{stats.feedback_fraud:,}", "")
    table.add_row("feedback: genuine", f"{stats.feedback_genuine:,}", "")
    if stats.feedback_withheld:
        table.add_row("feedback not yet arrived", f"{stats.feedback_withheld:,}", "")
    if kafka_counts is not None:
        acked, malformed = kafka_counts
        table.add_row("kafka: delivered", f"{sum(acked.values()):,}", "")
        table.add_row("  malformed", f"{sum(malformed.values()):,}", "")
        for kind, count in sorted(malformed.items()):
            table.add_row(f"    {kind}", f"{count:,}", "")
    table.add_row("events/s", f"{stats.events / elapsed:,.0f}", f"{elapsed:.1f} s")
    console.print(table)
    where = str(directory) if to is Target.PARQUET else "kafka"
    logger.info(
        "simulated events=%d fraud=%d feedback=%d to=%s seconds=%.1f",
        stats.events,
        stats.fraud_events,
        stats.feedback_fraud + stats.feedback_genuine,
        where,
        elapsed,
    )
