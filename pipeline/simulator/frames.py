"""Columnar batches -> polars frames with exactly the columns of ``schemas.tabular``.

The column list and dtypes come from :func:`schemas.tabular.event_log_schema` and
:func:`schemas.tabular.feedback_schema`; this module only knows how to fill a column from
the generated codes. A new optional record field becomes an all-null column; a new required
one raises, so the simulator cannot silently drift from the schema.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import polars as pl

from pipeline.simulator import catalog
from pipeline.simulator.batch import EventBatch, FeedbackBatch
from pipeline.simulator.config import Scenario
from pipeline.simulator.exceptions import SimulatorError
from pipeline.simulator.labels import NOTES
from pipeline.simulator.population import Population
from schemas import Channel, Feedback, FeedbackSource, Label, Login, Record, Transaction
from schemas.tabular import EVENT_TYPE_COLUMN, event_log_schema, feedback_schema

CHANNELS: tuple[str, ...] = tuple(c.value for c in Channel)
EVENT_TYPES: tuple[str, ...] = (Transaction.event_type, Login.event_type)
SCENARIOS: tuple[str, ...] = tuple(s.value for s in Scenario)
LABELS: tuple[str, ...] = (Label.FRAUD.value, Label.GENUINE.value)
SOURCES: tuple[str, ...] = (
    FeedbackSource.ANALYST.value,
    FeedbackSource.CHARGEBACK.value,
    FeedbackSource.CUSTOMER.value,
)
ID_WIDTH = 10


class Vocab:
    """Strings by code, built once; a negative code is null."""

    def __init__(self, values: Sequence[str]) -> None:
        self.null = len(values)
        self.table = pl.Series([*values, None], dtype=pl.String)

    def __call__(self, codes: np.ndarray) -> pl.Series:
        return self.table.gather(np.where(codes < 0, self.null, codes))


def vocab(values: Sequence[str], codes: np.ndarray) -> pl.Series:
    """``values[code]`` per row; a negative code is null."""
    return Vocab(values)(codes)


def numbered(prefix: str, numbers: np.ndarray, width: int = 8) -> pl.Series:
    """``prefix`` + zero-padded number per row; a negative number is null."""
    text = prefix + pl.Series(np.maximum(numbers, 0)).cast(pl.String).str.zfill(width)
    return pl.select(pl.when(pl.lit(numbers >= 0)).then(pl.lit(text))).to_series()


def event_ids(kind: np.ndarray, seq: np.ndarray, run: str) -> pl.Series:
    """Event ids: ``tx-s7-0000000042`` for transactions, ``lg-s7-0000000043`` for logins.

    ``run`` names the simulated world (its seed): two runs with other seeds never share an
    id, so streaming both into one pipeline cannot pass an event off as a redelivery of
    another, nor merge two in the training store; the same seed gives the same ids."""
    digits = pl.Series(seq).cast(pl.String).str.zfill(ID_WIDTH)
    prefix = vocab((f"tx-{run}-", f"lg-{run}-"), kind.astype(np.int64))
    return prefix + digits


def dotted_ip(ip: np.ndarray) -> pl.Series:
    octets = [pl.Series((np.maximum(ip, 0) >> s) & 255).cast(pl.String) for s in (24, 16, 8, 0)]
    text = pl.select(pl.concat_str([pl.lit(o) for o in octets], separator=".")).to_series()
    return pl.select(pl.when(pl.lit(ip >= 0)).then(pl.lit(text))).to_series()


def _nullable(values: np.ndarray, valid: np.ndarray) -> pl.Series:
    return pl.select(pl.when(pl.lit(valid)).then(pl.lit(pl.Series(values)))).to_series()


def _floats(values: np.ndarray) -> pl.Series:
    return pl.Series(values, dtype=pl.Float64).fill_nan(None)


def _timestamps(ts: np.ndarray) -> pl.Series:
    return pl.Series(ts, dtype=pl.Int64).cast(pl.Datetime("us", "UTC"))


def _event_columns(pop: Population, run: str) -> dict[str, Callable[[EventBatch], pl.Series]]:
    accounts, cards = Vocab(pop.accounts.ids), Vocab(pop.accounts.card_ids)
    merchants, agents = Vocab(pop.merchants.ids), Vocab([u for u, _ in catalog.USER_AGENTS])
    return {
        EVENT_TYPE_COLUMN: lambda b: vocab(EVENT_TYPES, b["kind"].astype(np.int64)),
        "event_id": lambda b: event_ids(b["kind"], b["seq"], run),
        "account_id": lambda b: accounts(b["account"]),
        "ts": lambda b: _timestamps(b["ts"]),
        "card_id": lambda b: cards(b["card"]),
        "amount": lambda b: _floats(b["amount"]),
        "currency": lambda b: vocab(catalog.CURRENCIES, b["currency"]),
        "merchant_id": lambda b: merchants(b["merchant"]),
        "merchant_category": lambda b: vocab(catalog.CATEGORY_NAMES, b["category"]),
        "channel": lambda b: vocab(CHANNELS, b["channel"]),
        "country": lambda b: vocab(catalog.COUNTRIES, b["country"]),
        "lat": lambda b: _floats(b["lat"]),
        "lon": lambda b: _floats(b["lon"]),
        "device_id": lambda b: numbered("dev-", b["device"]),
        "ip": lambda b: dotted_ip(b["ip"]),
        "payee_id": lambda b: numbered("payee-", b["payee"]),
        "success": lambda b: _nullable(b["success"] == 1, b["success"] >= 0),
        "asn": lambda b: _nullable(b["asn"], b["asn"] >= 0),
        "user_agent": lambda b: agents(b["user_agent"]),
        "auth_method": lambda b: vocab(catalog.AUTH_METHODS, b["auth_method"]),
        "failure_reason": lambda b: vocab(catalog.FAILURE_REASONS, b["failure_reason"]),
        "is_fraud": lambda b: pl.Series(b["scenario"] >= 0),
        "fraud_scenario": lambda b: vocab(SCENARIOS, b["scenario"].astype(np.int64)),
    }


def _feedback_columns(pop: Population, run: str) -> dict[str, Callable[[FeedbackBatch], pl.Series]]:
    accounts, merchants = Vocab(pop.accounts.ids), Vocab(pop.merchants.ids)
    return {
        "event_id": lambda b: event_ids(b["event_kind"], b["event_seq"], run),
        "account_id": lambda b: accounts(b["account"]),
        "ts": lambda b: _timestamps(b["ts"]),
        "merchant_id": lambda b: merchants(b["merchant"]),
        "label": lambda b: vocab(LABELS, b["label"].astype(np.int64)),
        "source": lambda b: vocab(SOURCES, b["source"].astype(np.int64)),
        "analyst_id": lambda b: numbered("analyst-", b["analyst"].astype(np.int64), 3),
        "note": lambda b: vocab(NOTES, b["note"].astype(np.int64)),
        "fraud_type": lambda b: vocab(SCENARIOS, b["scenario"].astype(np.int64)),
    }


def _required(name: str, records: Sequence[type[Record]]) -> bool:
    return any(name in r.model_fields and r.model_fields[name].is_required() for r in records)


def _frame(
    batch: Any,
    schema: dict[str, pl.DataType],
    builders: dict[str, Callable],
    records: Sequence[type[Record]],
) -> pl.DataFrame:
    columns = []
    for name, dtype in schema.items():
        build = builders.get(name)
        if build is None:
            if _required(name, records):
                raise SimulatorError(f"the simulator does not generate the required field {name!r}")
            columns.append(pl.Series(name, [None] * len(batch), dtype=dtype))
        else:
            columns.append(build(batch).alias(name).cast(dtype))
    return pl.DataFrame(columns)


class FrameBuilder:
    """Turns batches of one population into frames of the tabular schemas."""

    def __init__(self, population: Population, run: str) -> None:
        self.event_schema = event_log_schema()
        self.feedback_schema = feedback_schema()
        self._events = _event_columns(population, run)
        self._feedback = _feedback_columns(population, run)

    def events(self, batch: EventBatch) -> pl.DataFrame:
        return _frame(batch, self.event_schema, self._events, (Transaction, Login))

    def feedback(self, batch: FeedbackBatch) -> pl.DataFrame:
        return _frame(batch, self.feedback_schema, self._feedback, (Feedback,))
