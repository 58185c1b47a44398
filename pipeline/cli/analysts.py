"""``fraudstream simulate analysts``: an analyst team answering alerts, for demos and tests."""

from __future__ import annotations

import math
import threading
from collections import Counter

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from pipeline.analysts import AnalystsConfig
from pipeline.cli.context import settings_of
from pipeline.cli.store import stop_on_signals

console = Console()
DEFAULTS = AnalystsConfig()
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0}
ROWS: tuple[tuple[str, str], ...] = (
    ("alerts", "alerts"),
    ("  reviewed: fraud", "verdict_fraud"),
    ("  reviewed: genuine", "verdict_genuine"),
    ("  of which mistaken", "mistakes"),
    ("  over capacity, unreviewed", "unreviewed"),
    ("missed frauds (allowed)", "missed_frauds"),
    ("  chargebacks sent", "chargebacks"),
    ("  customer claims sent", "claims"),
    ("no ground truth found", "no_truth"),
)


def parse_duration(text: str) -> float:
    """``"30"``, ``"30s"``, ``"5m"``, ``"2h"``, ``"1.5d"`` -> seconds."""
    value = text.strip().lower()
    scale = _UNITS.get(value[-1:])
    number = value[:-1] if scale is not None else value
    try:
        seconds = float(number) * (scale or 1.0)
    except ValueError as err:
        raise typer.BadParameter(
            f"{text!r} is not a duration; write e.g. 30s, 5m, 2h or 3d",
            param_hint="--chargeback-delay",
        ) from err
    if not 0 <= seconds < math.inf:
        raise typer.BadParameter(
            f"{text!r}: a duration is 0 or more", param_hint="--chargeback-delay"
        )
    return seconds


def parse_seconds_range(text: str) -> tuple[float, float]:
    """``"2-10"`` -> (2.0, 10.0); ``"5"`` -> (5.0, 5.0)."""
    try:
        values = [float(p) for p in text.split("-") if p.strip()]
    except ValueError as err:
        raise typer.BadParameter(
            f"{text!r} is not MIN-MAX seconds, e.g. 2-10", param_hint="--review-delay"
        ) from err
    if len(values) == 1:
        values *= 2
    if len(values) != 2 or not 0 <= values[0] <= values[1] or not all(map(math.isfinite, values)):
        raise typer.BadParameter(
            f"{text!r} is not MIN-MAX seconds with 0 <= MIN <= MAX", param_hint="--review-delay"
        )
    return values[0], values[1]


def _table(stats: Counter[str]) -> Table:
    table = Table(title="analyst team")
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, key in ROWS:
        table.add_row(label, f"{stats[key]:,}")
    return table


def analysts(
    ctx: typer.Context,
    team: int = typer.Option(DEFAULTS.analysts, "--analysts", min=1, help="analysts in the team"),
    capacity: int = typer.Option(
        DEFAULTS.capacity, "--capacity", min=0, help="alerts each analyst reviews per day"
    ),
    error_rate: float = typer.Option(
        DEFAULTS.error_rate, "--error-rate", min=0.0, max=1.0, help="share of wrong verdicts"
    ),
    review_delay: str = typer.Option(
        "{:g}-{:g}".format(*DEFAULTS.review_delay_s),
        "--review-delay",
        help="MIN-MAX wall seconds from an alert to its verdict",
    ),
    chargeback_delay: str = typer.Option(
        f"{DEFAULTS.chargeback_delay_s:g}s",
        "--chargeback-delay",
        help="wall time from an allowed fraud to its chargeback: 30s, 5m, 2h, 1d",
    ),
    seed: int = typer.Option(DEFAULTS.seed, "--seed", help="same seed, same verdicts"),
    from_beginning: bool = typer.Option(
        False, "--from-beginning", help="a new team also answers the alerts already on the topic"
    ),
    group: str = typer.Option(DEFAULTS.group_id, "--group", help="the team's consumer group"),
    bootstrap: str | None = typer.Option(
        None, "--bootstrap", help="Kafka bootstrap servers [default: FRAUDSTREAM_KAFKA_BOOTSTRAP]"
    ),
) -> None:
    """Answer alerts with analyst verdicts, and missed frauds with chargebacks (until Ctrl-C).

    Reads the simulator's ground truth from the event headers; sends to fraud.feedback.v1.
    """
    from pipeline.analysts.runner import AnalystsRunner  # imports kafka-python

    settings = settings_of(ctx)
    config = AnalystsConfig(
        analysts=team,
        capacity=capacity,
        error_rate=error_rate,
        review_delay_s=parse_seconds_range(review_delay),
        chargeback_delay_s=parse_duration(chargeback_delay),
        seed=seed,
        group_id=group,
        auto_offset_reset="earliest" if from_beginning else "latest",
    )
    broker = bootstrap or settings.kafka_bootstrap
    runner = AnalystsRunner(config, broker, settings.decode_limits())
    console.print(
        f"analysts [bold]{config.analysts}[/] x {config.capacity}/day, error rate "
        f"{config.error_rate:.0%}, review {review_delay} s, chargebacks after "
        f"{config.chargeback_delay_s:g} s, broker={broker}"
    )
    ready = threading.Event()
    with stop_on_signals() as stop, Live(_table(Counter()), console=console) as live:
        stats = runner.run(stop, ready, progress=lambda s: live.update(_table(s)))
        live.update(_table(stats))
