"""The simulated stream as Kafka messages: one time-ordered sequence per day.

Events and labels of a day are merged by timestamp (events first on a tie). Each message
is keyed by account id, carries its record encoded with :func:`schemas.encode`, and goes
to the topic of its record class. Ground truth rides in headers only (``fs-is-fraud``,
``fs-scenario``), never in the value a model reads. With a malformed rate, broken variants
of valid events are inserted right after them, with an ``fs-malformed`` header naming the
kind; they are extra messages, on top of the ``events`` valid ones.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.simulator.generator import DayOutput
from pipeline.simulator.malformed import HEADER, TRANSACTION_ONLY, MalformedKind, malform
from pipeline.simulator.records import event_record, feedback_record
from schemas import DEFAULT_LIMITS, DecodeLimits, Transaction, encode, to_json_obj

HEADER_IS_FRAUD = "fs-is-fraud"
HEADER_SCENARIO = "fs-scenario"


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    #: "event", "feedback" or "malformed"
    kind: str


class MessageStream:
    """Turns day outputs into messages; counts what it made."""

    def __init__(
        self,
        events: int,
        malformed_rate: float,
        rng: np.random.Generator,
        limits: DecodeLimits = DEFAULT_LIMITS,
    ) -> None:
        self.rng = rng
        self.limits = limits
        n_bad = min(events, round(events * malformed_rate))
        after = np.sort(rng.choice(events, size=n_bad, replace=False))
        kinds = rng.permutation(np.resize(np.array(list(MalformedKind)), n_bad))
        #: event number (0-based, in stream order) -> the malformed kind to insert after it
        self._malformed = {int(i): MalformedKind(k) for i, k in zip(after, kinds, strict=True)}
        self._events_seen = 0
        self._last_transaction: Transaction | None = None
        self.counts: Counter[str] = Counter()
        self.malformed: Counter[str] = Counter()

    def day(self, out: DayOutput) -> Iterator[Message]:
        events = ((row["ts"], 0, row) for row in out.events.iter_rows(named=True))
        feedback = ((row["ts"], 1, row) for row in out.feedback.iter_rows(named=True))
        for _, source, row in heapq.merge(events, feedback, key=lambda item: item[:2]):
            if source == 0:
                yield from self._event(row)
            else:
                record = feedback_record(row, self.limits.time_bounds)
                self.counts["feedback"] += 1
                yield Message(
                    record.topic, row["account_id"].encode(), encode(record), [], "feedback"
                )

    def _event(self, row: dict[str, Any]) -> Iterator[Message]:
        record = event_record(row, self.limits.time_bounds)
        key = row["account_id"].encode()
        headers = [(HEADER_IS_FRAUD, b"1" if row["is_fraud"] else b"0")]
        if row["is_fraud"]:
            headers.append((HEADER_SCENARIO, row["fraud_scenario"].encode()))
        self.counts[record.event_type] += 1
        yield Message(record.topic, key, encode(record), headers, "event")
        if isinstance(record, Transaction):
            self._last_transaction = record
        kind = self._malformed.pop(self._events_seen, None)
        self._events_seen += 1
        if kind is None:
            return
        obj, record_type = to_json_obj(record), type(record)
        if kind in TRANSACTION_ONLY and not isinstance(record, Transaction):
            if self._last_transaction is None:  # no transaction yet: break this login another way
                kind = MalformedKind.WRONG_TYPE
            else:
                obj, record_type = to_json_obj(self._last_transaction), Transaction
        value = malform(kind, obj, record_type, self.rng, self.limits.max_payload_bytes)
        self.malformed[kind.value] += 1
        yield Message(record_type.topic, key, value, [(HEADER, kind.value.encode())], "malformed")
