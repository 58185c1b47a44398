"""The world of the continual-learning experiment: one population, three consecutive periods.

One simulator run of ``3 x days`` days with a :class:`~pipeline.simulator.config.Drift`
starting on the first day of period 2: genuine customers take up a merchant category that
was mostly the fraudsters' in period 1, and a new fraud scenario appears. The periods are
the three consecutive time slices of that one stream, so every account keeps its history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from models.data import EventLog, load_event_log
from pipeline.bench.exceptions import BenchError
from pipeline.simulator import ParquetSink, Simulator, SimulatorConfig, catalog
from pipeline.simulator.config import Drift, Scenario

#: (stage, done, total), as the model jobs report
Progress = Callable[[str, int, int], None]

PERIODS = ("period1", "period2", "period3")
SHIFTS = ("relay", "category")
HOSTING_ASNS = frozenset(h.asn for h in catalog.HOSTING)


@dataclass(frozen=True)
class WorldConfig:
    """The simulated bank and how it changes; a property of the world, not of the learner."""

    #: events (transactions + logins) per period
    events: int = 150_000
    days: int = 14  # per period
    #: accounts [default: events per period / 20]
    accounts: int | None = None
    merchants: int = 1_000
    fraud_rate: float = 0.007
    seed: int = 7
    start: date = date(2025, 1, 6)
    #: the genuine behaviour shift from period 2 on: "relay" (customers adopt a privacy
    #: relay: their sessions come from hosting networks, as bots' did) or "category"
    #: (customers take up ``shift_category``)
    shift: str = "relay"
    adopters: float = 0.2
    #: share of an adopter's sessions (relay) or online payments (category) concerned
    adoption_share: float = 0.8
    shift_category: str = "crypto_exchange"
    #: the new fraud pattern from period 2 on, and its share of the fraud
    new_scenario: Scenario = Scenario.APP_SCAM
    new_scenario_share: float = 0.25

    def simulator_config(self) -> SimulatorConfig:
        return SimulatorConfig(
            events=3 * self.events,
            accounts=self.accounts or max(1_000, self.events // 20),
            merchants=self.merchants,
            days=3 * self.days,
            start=self.start,
            seed=self.seed,
            fraud_rate=self.fraud_rate,
            drift=Drift(
                start_day=self.days,
                relay_adopters=self.adopters if self.shift == "relay" else 0.0,
                relay_share=self.adoption_share,
                category=self.shift_category,
                adopters=self.adopters if self.shift == "category" else 0.0,
                adoption_share=self.adoption_share,
                new_scenario=self.new_scenario,
                new_scenario_share=self.new_scenario_share,
            ),
        )

    def __post_init__(self) -> None:
        if self.shift not in SHIFTS:
            raise BenchError(f"shift must be one of {', '.join(SHIFTS)}, got {self.shift!r}")

    def segment(self) -> pl.Expr:
        """True for the events of the shifted segment (what the shift touches)."""
        if self.shift == "relay":
            return pl.col("asn").is_in(sorted(HOSTING_ASNS)).fill_null(False)
        return (pl.col("merchant_category") == self.shift_category).fill_null(False)

    def segment_name(self) -> str:
        if self.shift == "relay":
            return "sessions from hosting networks"
        return f"payments in {self.shift_category}"

    def bounds(self) -> list[tuple[datetime, datetime]]:
        """[start, end) of each period, UTC."""
        first = datetime.combine(self.start, datetime.min.time(), tzinfo=UTC)
        step = timedelta(days=self.days)
        return [(first + i * step, first + (i + 1) * step) for i in range(len(PERIODS))]


@dataclass(frozen=True)
class World:
    """The whole stream with its ground truth, on disk and loaded."""

    config: WorldConfig
    directory: Path  # simulator layout: every event and every label the world produced
    log: EventLog
    bounds: list[tuple[datetime, datetime]]
    stats: dict[str, Any] = field(default_factory=dict)

    def period(self, index: int) -> pl.DataFrame:
        """The events of period ``index`` (0-based), with their truth."""
        start, end = self.bounds[index]
        return self.log.events.filter((pl.col("ts") >= start) & (pl.col("ts") < end))

    def until(self, end: datetime) -> EventLog:
        """Every event before ``end`` with the world's labels that arrived before it."""
        events = self.log.events.filter(pl.col("ts") < end)
        feedback = self.log.feedback
        if feedback is not None:
            feedback = feedback.filter(pl.col("ts") < end)
        return EventLog(events=events, feedback=feedback, source=f"{self.directory}<{end:%F}")

    def scenario_counts(self) -> dict[str, dict[str, int]]:
        """Fraud events per scenario, per period."""
        out: dict[str, dict[str, int]] = {}
        for i, name in enumerate(PERIODS):
            counts = (
                self.period(i)
                .filter(pl.col("is_fraud").fill_null(False))
                .group_by("fraud_scenario")
                .len()
                .sort("fraud_scenario")
            )
            out[name] = {str(s): int(n) for s, n in counts.iter_rows()}
        return out


def simulate_world(config: WorldConfig, directory: Path, progress: Progress | None = None) -> World:
    """Run the simulator once over the three periods and write it in the simulator layout."""
    sim_config = config.simulator_config()
    simulator = Simulator(sim_config)
    sink = ParquetSink(directory, overwrite=True)
    total = sim_config.days
    for done, out in enumerate(simulator, start=1):
        sink.write(out)
        if progress is not None:
            progress("simulate", min(done, total), total)
    sink.close()
    stats = simulator.stats
    return World(
        config=config,
        directory=directory,
        log=load_event_log(directory),
        bounds=config.bounds(),
        stats={
            "events": stats.events,
            "fraud_events": stats.fraud_events,
            "fraud": dict(stats.fraud),
            "accounts": sim_config.accounts,
            "merchants": sim_config.merchants,
        },
    )


def write_simulator_layout(event_log: EventLog, directory: Path) -> Path:
    """``directory/events/day=…`` and ``feedback/day=…`` of a loaded log (truth included)."""
    for name, frame in (("events", event_log.events), ("feedback", event_log.feedback)):
        if frame is None or frame.height == 0:
            continue
        write_days(frame, directory / name)
    return directory


def write_days(frame: pl.DataFrame, root: Path) -> None:
    """One ``day=YYYY-MM-DD/part-0.parquet`` per UTC day of ``frame['ts']``."""
    days = frame.with_columns(pl.col("ts").dt.date().alias("_day"))
    for (day,), part in days.group_by("_day", maintain_order=True):
        folder = root / f"day={day:%Y-%m-%d}"
        folder.mkdir(parents=True, exist_ok=True)
        part.drop("_day").write_parquet(folder / "part-0.parquet")
