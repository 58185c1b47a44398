"""The analyst team's decisions, without Kafka: who reviews what, when, and what they say.

- An alert (a review/block Score) goes to the least busy analyst of its event's day; when
  every analyst has reviewed ``capacity`` alerts that day, it stays unreviewed. The verdict
  comes ``review_delay_s`` later: the ground truth, wrong with probability ``error_rate``.
- An allowed event that was a fraud (a missed fraud) is labelled fraud
  ``chargeback_delay_s`` after its score: a chargeback for a card payment, a customer's
  fraud claim for a transfer or a login (they have no chargeback), as the simulator does.
- A label's ``ts`` is its arrival on the stream's own clock (the latest event time seen,
  never before the event), so it lines up with replayed event logs.

Delays and mistakes are drawn from a hash of (seed, event id): the same alerts get the same
verdicts in every run. Times passed in (``now``) are wall-clock seconds (monotonic).
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from pipeline.analysts.config import AnalystsConfig
from pipeline.analysts.truth import CARD_CHANNELS, Truth, TruthMap
from pipeline.simulator.labels import (
    NOTE_CARD_ABSENT,
    NOTE_CARD_PRESENT,
    NOTE_LOGIN,
    NOTE_REVIEWED,
    NOTE_TRANSFER,
    NOTES,
)
from schemas import Channel, Decision, Feedback, FeedbackSource, Label, Score

NOTE_CONFIRMED_FRAUD = "analyst review: fraud confirmed"
#: an alert whose truth is not known yet at its due time is looked at again this much later
RETRY_S = 1.0
#: days of per-analyst workload remembered before the latest alert's day
LOAD_DAYS = 7


def analyst_name(number: int) -> str:
    """``analyst-007``: the simulator's naming."""
    return f"analyst-{number:03d}"


def draw(seed: int, event_id: str, salt: str) -> float:
    """A uniform number in [0, 1) fixed by (seed, event id, salt)."""
    digest = hashlib.blake2b(f"{seed}\x1f{salt}\x1f{event_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") / float(2**64)


def _day(score: Score) -> date:
    return (score.event_ts or score.scored_at).astimezone(UTC).date()


@dataclass(order=True)
class _Task:
    due: float
    seq: int
    kind: str = field(compare=False)  # "review" or "chargeback"
    score: Score = field(compare=False)
    analyst: str | None = field(compare=False, default=None)
    truth: Truth | None = field(compare=False, default=None)
    give_up: float = field(compare=False, default=0.0)


class AnalystTeam:
    def __init__(self, config: AnalystsConfig) -> None:
        self.config = config
        self.truth = TruthMap(config.max_truth)
        self.stats: Counter[str] = Counter()
        self.clock: datetime | None = None
        self._tasks: list[_Task] = []
        self._seq = itertools.count()
        self._waiting: OrderedDict[str, tuple[Score, float]] = OrderedDict()
        self._load: dict[date, list[int]] = {}
        self._alerted: OrderedDict[str, None] = OrderedDict()
        self._charged: OrderedDict[str, None] = OrderedDict()

    def scheduled(self) -> int:
        return len(self._tasks)

    # -- what the team reads ---------------------------------------------------------------

    def observe(self, truth: Truth, now: float) -> None:
        """A simulated event and its ground truth."""
        self.truth.add(truth)
        self._advance(truth.ts)
        waiting = self._waiting.pop(truth.event_id, None)
        if waiting is not None:
            self._chargeback_if_fraud(waiting[0], truth, waiting[1])

    def on_alert(self, score: Score, now: float) -> bool:
        """An alert; True when an analyst will review it."""
        if score.decision is Decision.ALLOW:
            return False
        if not self._first(self._alerted, score.event_id):
            self.stats["duplicate_alerts"] += 1
            return False
        self.stats["alerts"] += 1
        if score.event_ts is not None:
            self._advance(score.event_ts)
        day = _day(score)
        load = self._load.setdefault(day, [0] * self.config.analysts)
        analyst = min(range(len(load)), key=load.__getitem__)
        if load[analyst] >= self.config.capacity:
            self.stats["unreviewed"] += 1
            return False
        load[analyst] += 1
        for old in [d for d in self._load if d < day - timedelta(days=LOAD_DAYS)]:
            del self._load[old]
        low, high = self.config.review_delay_s
        due = now + low + (high - low) * draw(self.config.seed, score.event_id, "delay")
        self._push(
            _Task(
                due,
                next(self._seq),
                "review",
                score,
                analyst=analyst_name(analyst + 1),
                give_up=due + self.config.truth_timeout_s,
            )
        )
        return True

    def on_score(self, score: Score, now: float) -> None:
        """Any score: an allowed fraud becomes a chargeback (or claim) later."""
        if score.decision is not Decision.ALLOW:
            return
        if score.event_ts is not None:
            self._advance(score.event_ts)
        truth = self.truth.get(score.event_id)
        if truth is not None:
            self._chargeback_if_fraud(score, truth, now)
            return
        self._waiting[score.event_id] = (score, now)
        if len(self._waiting) > self.config.max_waiting:
            self._waiting.popitem(last=False)
            self.stats["no_truth"] += 1

    # -- what the team says ----------------------------------------------------------------

    def due(self, now: float) -> list[Feedback]:
        """The verdicts and chargebacks whose time has come."""
        horizon = now - self.config.truth_timeout_s
        while self._waiting and next(iter(self._waiting.values()))[1] <= horizon:
            self._waiting.popitem(last=False)
            self.stats["no_truth"] += 1
        out: list[Feedback] = []
        while self._tasks and self._tasks[0].due <= now:
            task = heapq.heappop(self._tasks)
            if task.kind == "chargeback" and task.truth is not None:
                out.append(self._chargeback(task.score, task.truth))
                continue
            truth = self.truth.get(task.score.event_id)
            if truth is not None:
                out.append(self._verdict(task, truth))
            elif now < task.give_up:
                task.due, task.seq = now + RETRY_S, next(self._seq)
                self._push(task)
            else:
                self.stats["no_truth"] += 1
        return out

    def _verdict(self, task: _Task, truth: Truth) -> Feedback:
        score = task.score
        mistaken = draw(self.config.seed, score.event_id, "error") < self.config.error_rate
        fraud = truth.is_fraud != mistaken
        self.stats["verdict_fraud" if fraud else "verdict_genuine"] += 1
        self.stats["mistakes"] += mistaken
        return Feedback(
            event_id=score.event_id,
            account_id=score.account_id,
            ts=self._label_time(truth),
            merchant_id=truth.merchant_id,
            label=Label.FRAUD if fraud else Label.GENUINE,
            source=FeedbackSource.ANALYST,
            analyst_id=task.analyst,
            note=NOTE_CONFIRMED_FRAUD if fraud else NOTES[NOTE_REVIEWED],
            # the analyst names the typology of a fraud they recognise; a genuine event
            # they mistake for fraud has none to name
            fraud_type=truth.scenario if fraud and truth.is_fraud else None,
        )

    def _chargeback(self, score: Score, truth: Truth) -> Feedback:
        if truth.channel in CARD_CHANNELS:
            source = FeedbackSource.CHARGEBACK
            note = NOTE_CARD_ABSENT if truth.channel is Channel.ECOM else NOTE_CARD_PRESENT
        else:
            source = FeedbackSource.CUSTOMER
            note = NOTE_TRANSFER if truth.channel is Channel.TRANSFER else NOTE_LOGIN
        self.stats["chargebacks" if source is FeedbackSource.CHARGEBACK else "claims"] += 1
        return Feedback(
            event_id=score.event_id,
            account_id=score.account_id,
            ts=self._label_time(truth),
            merchant_id=truth.merchant_id,
            label=Label.FRAUD,
            source=source,
            note=NOTES[note],
            fraud_type=truth.scenario,  # the reason code of the chargeback or the claim
        )

    # -- bookkeeping -----------------------------------------------------------------------

    def _chargeback_if_fraud(self, score: Score, truth: Truth, arrived: float) -> None:
        if not truth.is_fraud or not self._first(self._charged, score.event_id):
            return
        self.stats["missed_frauds"] += 1
        due = arrived + self.config.chargeback_delay_s
        self._push(_Task(due, next(self._seq), "chargeback", score, truth=truth))

    def _push(self, task: _Task) -> None:
        heapq.heappush(self._tasks, task)

    def _first(self, seen: OrderedDict[str, None], event_id: str) -> bool:
        """True the first time ``event_id`` is offered to ``seen`` (bounded memory)."""
        if event_id in seen:
            return False
        seen[event_id] = None
        if len(seen) > self.config.max_truth:
            seen.popitem(last=False)
        return True

    def _advance(self, ts: datetime) -> None:
        if self.clock is None or ts > self.clock:
            self.clock = ts

    def _label_time(self, truth: Truth) -> datetime:
        return max(self.clock or truth.ts, truth.ts)
