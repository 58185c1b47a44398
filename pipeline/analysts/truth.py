"""The simulator's ground truth, read from the headers of the events it sends.

The truth never rides in a record's value (a model must not see it): the simulator puts
``fs-is-fraud`` (and ``fs-scenario``) in the Kafka headers of each transaction and login.
The team keeps the most recent events' truth by event id, in a bounded map.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pipeline.simulator.messages import HEADER_IS_FRAUD, HEADER_SCENARIO
from schemas import Channel, EventRecord, Transaction

CARD_CHANNELS = frozenset({Channel.POS, Channel.ECOM, Channel.ATM})


@dataclass(frozen=True, slots=True)
class Truth:
    event_id: str
    account_id: str
    ts: datetime
    is_fraud: bool
    scenario: str | None = None
    merchant_id: str | None = None
    #: the channel of a transaction; None for a login
    channel: Channel | None = None


def truth_of(record: EventRecord, headers: Iterable[tuple[str, bytes | None]]) -> Truth | None:
    """The truth of a simulated event; None when it carries no ``fs-is-fraud`` header."""
    found = {name: value for name, value in headers if value is not None}
    flag = found.get(HEADER_IS_FRAUD)
    if flag not in (b"0", b"1"):
        return None
    scenario = found.get(HEADER_SCENARIO)
    transaction = record if isinstance(record, Transaction) else None
    return Truth(
        event_id=record.event_id,
        account_id=record.account_id,
        ts=record.ts,
        is_fraud=flag == b"1",
        scenario=scenario.decode(errors="replace") if scenario else None,
        merchant_id=transaction.merchant_id if transaction else None,
        channel=transaction.channel if transaction else None,
    )


class TruthMap:
    """The truth of the ``capacity`` most recently seen events."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, Truth] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def add(self, truth: Truth) -> None:
        self._items[truth.event_id] = truth
        self._items.move_to_end(truth.event_id)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def get(self, event_id: str) -> Truth | None:
        return self._items.get(event_id)
