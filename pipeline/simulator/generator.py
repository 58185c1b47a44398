"""The simulation loop: day by day, one time-ordered stream of events and late labels.

Each day is generated as a whole (genuine activity, then the fraud incidents that feed on
it), sorted, numbered and labelled; what falls after the day's end (a spree past midnight,
labels weeks later) waits in a small pending buffer and is merged into the day it belongs
to, so memory stays bounded by a day plus the labels in flight, whatever ``events`` is.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import polars as pl

from pipeline.simulator.batch import (
    KIND_LOGIN,
    LABEL_FRAUD,
    NOT_FRAUD,
    EventBatch,
    FeedbackBatch,
)
from pipeline.simulator.config import LATE_SCENARIOS, SCENARIO_CODES, Scenario, SimulatorConfig
from pipeline.simulator.exceptions import SimulatorError
from pipeline.simulator.frames import FrameBuilder
from pipeline.simulator.fraudsters import DayContext, Fraudsters
from pipeline.simulator.genuine import GenuineActivity
from pipeline.simulator.labels import fraud_feedback, genuine_feedback
from pipeline.simulator.pools import apportion
from pipeline.simulator.population import Population, build_population
from pipeline.simulator.scenarios import build_scenarios
from pipeline.simulator.state import US_PER_DAY, SimState

logger = logging.getLogger(__name__)

#: relative activity by weekday (Monday first): Friday and Saturday peaks, quiet Sundays
WEEKDAY_WEIGHT = np.array([0.97, 0.98, 1.0, 1.01, 1.08, 1.06, 0.9])
#: days at the start without compromised-merchant fraud: the skimmed cards need time
COMPROMISE_WARMUP_DAYS = 3
STREAMS = ("population", "genuine", "scenarios", "fraud", "labels", "malformed")


def random_streams(seed: int) -> dict[str, np.random.Generator]:
    """Independent generators per concern, so that e.g. labels never shift the events."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(s) for name, s in zip(STREAMS, children, strict=True)}


@dataclass(frozen=True, eq=False)
class DayOutput:
    """The slice of the stream whose timestamps fall on ``day`` (UTC), each frame sorted."""

    day: date
    events: pl.DataFrame
    feedback: pl.DataFrame


@dataclass
class SimulationStats:
    transactions: int = 0
    logins: int = 0
    fraud: Counter[str] = field(default_factory=Counter)
    feedback_fraud: int = 0
    feedback_genuine: int = 0
    #: labels that would arrive after ``not_after``: not arrived yet, not emitted
    feedback_withheld: int = 0

    @property
    def events(self) -> int:
        return self.transactions + self.logins

    @property
    def fraud_events(self) -> int:
        return sum(self.fraud.values())


def plan(config: SimulatorConfig, start: date) -> tuple[np.ndarray, dict[Scenario, np.ndarray]]:
    """Genuine events per day and fraud events per scenario and day; they sum to ``events``."""
    days = config.days
    weights = WEEKDAY_WEIGHT[[(start + timedelta(days=d)).weekday() for d in range(days)]]
    total_fraud = round(config.events * config.fraud_rate)
    genuine = apportion(config.events - total_fraud, weights)
    scenarios = [s for s in Scenario if s not in LATE_SCENARIOS]
    mix = np.array([config.scenario_mix.get(s, 0.0) for s in scenarios])
    fraud = {}
    for scenario, total in zip(scenarios, apportion(total_fraud, mix).tolist(), strict=True):
        w = weights.copy()
        if scenario is Scenario.COMPROMISED_MERCHANT and days > COMPROMISE_WARMUP_DAYS:
            w[:COMPROMISE_WARMUP_DAYS] = 0.0
        fraud[scenario] = apportion(total, w)
    drift = config.drift
    if drift is not None:  # from its start, the new scenario takes its share of each day
        late = np.zeros(days, dtype=np.int64)
        for day in range(drift.start_day, days):
            old = np.array([fraud[s][day] for s in scenarios])
            late[day] = round(int(old.sum()) * drift.new_scenario_share)
            for scenario, cut in zip(scenarios, apportion(int(late[day]), old), strict=True):
                fraud[scenario][day] -= cut
        fraud[drift.new_scenario] = late
    return genuine, fraud


class Simulator:
    """Iterate to get the stream day by day; ``stats`` counts what has been emitted."""

    def __init__(self, config: SimulatorConfig) -> None:
        # resolve the default start once, so a run that crosses midnight stays one run
        config = dataclasses.replace(config, start=config.start_date())
        if config.not_after is not None:
            config.check_in_past(config.not_after)
        self.config = config
        self.rngs = random_streams(config.seed)
        self.start_date = config.start_date()
        self.start_us = int(config.start_time().timestamp()) * 1_000_000
        self.population: Population = build_population(
            self.rngs["population"],
            config.accounts,
            config.merchants,
            config.behaviour.vpn_account_share,
        )
        self.state = SimState.start(self.population)
        self.genuine = GenuineActivity(
            self.population,
            self.state,
            config.behaviour,
            drift=config.drift,
            drift_start_us=self.start_us
            + (config.drift.start_day if config.drift else 0) * US_PER_DAY,
            seed=config.seed,
        )
        self.fraudsters = Fraudsters(self.population, self.state, config.label_delay_days)
        self.genuine_plan, self.fraud_plan = plan(config, self.start_date)
        self.scenarios = build_scenarios(self.fraudsters, self.fraud_plan, self.rngs["scenarios"])
        self.frames = FrameBuilder(self.population, run=f"s{config.seed}")
        self.stats = SimulationStats()
        self._owed: Counter[Scenario] = Counter()
        self._next_seq = 1
        self._pending_events = EventBatch.empty()
        self._pending_feedback = FeedbackBatch.empty()
        self._started = False

    def __iter__(self) -> Iterator[DayOutput]:
        if self._started:
            raise SimulatorError("a Simulator runs once; build a new one to run again")
        self._started = True
        for day in range(self.config.days):
            yield self._emit(day, *self._generate(day))
        yield from self._flush()

    def _generate(self, day: int) -> tuple[EventBatch, FeedbackBatch]:
        start = self.start_us + day * US_PER_DAY
        genuine = self.genuine.day(start, int(self.genuine_plan[day]), self.rngs["genuine"])
        ctx = DayContext(day, start, start + US_PER_DAY, genuine, self.rngs["fraud"])
        for scenario in self.scenarios.values():
            scenario.observe(ctx)
        parts = [genuine]
        for name, scenario in self.scenarios.items():
            want = int(self.fraud_plan[name][day]) + self._owed.pop(name, 0)
            got = scenario.generate(ctx, want)
            parts.append(got)
            if len(got) < want:
                self._owed[name] = want - len(got)
        if day == self.config.days - 1 and self._owed:
            # what could not happen (no skimmed card due yet, no card-present payment to
            # shadow) becomes card testing, so the fraud rate is exactly what was asked
            owed = sum(self._owed.values())
            logger.info("reassigned=%d scenarios=%s to=card_testing", owed, dict(self._owed))
            parts.append(self.scenarios[Scenario.CARD_TESTING].generate(ctx, owed))
            self._owed.clear()
        batch = EventBatch.concat(parts)
        if len(batch) and int(batch["ts"].min()) < start:
            raise SimulatorError("generated an event before its day: a simulator bug")
        batch = batch.sorted_by_time()
        batch.cols["seq"] = np.arange(self._next_seq, self._next_seq + len(batch), dtype=np.int64)
        self._next_seq += len(batch)
        feedback = FeedbackBatch.concat(
            [
                fraud_feedback(batch),
                genuine_feedback(
                    batch,
                    self.config.genuine_label_rate,
                    self.config.genuine_label_delay_days,
                    self.rngs["labels"],
                ),
            ]
        )
        return batch, feedback

    def _emit(self, day: int, events: EventBatch, feedback: FeedbackBatch) -> DayOutput:
        end = self.start_us + (day + 1) * US_PER_DAY
        events = EventBatch.concat([self._pending_events, events]).sorted_by_time()
        events, self._pending_events = events.split_at(end)
        feedback = FeedbackBatch.concat([self._pending_feedback, feedback]).sorted_by_time()
        feedback, self._pending_feedback = feedback.split_at(end)
        return self._output(self.start_date + timedelta(days=day), events, feedback)

    def _flush(self) -> Iterator[DayOutput]:
        """After the last day: spill-over events and labels still in flight, day by day."""
        events, feedback = self._pending_events, self._pending_feedback
        self._pending_events, self._pending_feedback = EventBatch.empty(), FeedbackBatch.empty()
        if self.config.not_after is not None:
            limit = int(self.config.not_after.timestamp() * 1_000_000)
            arrived = feedback["ts"] <= limit
            self.stats.feedback_withheld += int((~arrived).sum())
            feedback = feedback.take(arrived)
        ev_day = (events["ts"] - self.start_us) // US_PER_DAY
        fb_day = (feedback["ts"] - self.start_us) // US_PER_DAY
        for day in np.unique(np.concatenate([ev_day, fb_day])).tolist():
            yield self._output(
                self.start_date + timedelta(days=day),
                events.take(ev_day == day),
                feedback.take(fb_day == day),
            )

    def _output(self, day: date, events: EventBatch, feedback: FeedbackBatch) -> DayOutput:
        stats = self.stats
        logins = int((events["kind"] == KIND_LOGIN).sum())
        stats.logins += logins
        stats.transactions += len(events) - logins
        codes = events["scenario"][events["scenario"] != NOT_FRAUD]
        for scenario, code in SCENARIO_CODES.items():
            if scenario in LATE_SCENARIOS and scenario not in self.scenarios:
                continue  # a late scenario is counted only in a stream where it can appear
            stats.fraud[scenario.value] += int((codes == code).sum())
        fraud_labels = int((feedback["label"] == LABEL_FRAUD).sum())
        stats.feedback_fraud += fraud_labels
        stats.feedback_genuine += len(feedback) - fraud_labels
        return DayOutput(day, self.frames.events(events), self.frames.feedback(feedback))
