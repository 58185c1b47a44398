"""A flat, typed view of one event, built the same way from a record or a table row.

The stream decodes pydantic records; the offline replay reads Parquet/CSV rows. Both are
turned into an :class:`EventView` before any state is touched, so the shared profile and
token code only ever sees one shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas import Login, Transaction

KIND_TRANSACTION = 1
KIND_LOGIN_OK = 2
KIND_LOGIN_FAILED = 3

CHANNEL_CODES = {"pos": 1, "ecom": 2, "atm": 3, "transfer": 4}
CARD_PRESENT = frozenset({1, 3})  # pos, atm


@dataclass(frozen=True, slots=True)
class EventView:
    event_id: str
    account_id: str
    ts: float  # epoch seconds, UTC
    kind: int
    amount: float | None = None
    channel: int = 0
    category: str | None = None
    merchant_id: str | None = None
    country: str | None = None
    lat: float | None = None
    lon: float | None = None
    device_id: str | None = None
    payee_id: str | None = None

    @property
    def event_type(self) -> str:
        return "transaction" if self.kind == KIND_TRANSACTION else "login"

    @classmethod
    def from_record(cls, record: Transaction | Login) -> EventView:
        if isinstance(record, Transaction):
            return cls(
                event_id=record.event_id,
                account_id=record.account_id,
                ts=record.ts.timestamp(),
                kind=KIND_TRANSACTION,
                amount=float(record.amount),
                channel=CHANNEL_CODES.get(record.channel.value, 0),
                category=record.merchant_category,
                merchant_id=record.merchant_id,
                country=record.country,
                lat=record.lat,
                lon=record.lon,
                device_id=record.device_id,
                payee_id=record.payee_id,
            )
        return cls(
            event_id=record.event_id,
            account_id=record.account_id,
            ts=record.ts.timestamp(),
            kind=KIND_LOGIN_OK if record.success else KIND_LOGIN_FAILED,
            country=record.country,
            lat=record.lat,
            lon=record.lon,
            device_id=record.device_id,
        )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> EventView:
        """From an event-log row (columns of ``schemas.tabular.event_log_schema``).

        Missing optional columns are simply absent; ``event_type`` defaults to transaction.
        """
        ts = row["ts"]
        ts_s = ts.timestamp() if isinstance(ts, datetime) else float(ts)
        is_login = row.get("event_type") == "login"
        if is_login:
            kind = KIND_LOGIN_OK if row.get("success", True) else KIND_LOGIN_FAILED
        else:
            kind = KIND_TRANSACTION
        amount = row.get("amount")
        channel = row.get("channel")
        return cls(
            event_id=str(row["event_id"]),
            account_id=str(row["account_id"]),
            ts=ts_s,
            kind=kind,
            amount=None if is_login or amount is None else float(amount),
            channel=0 if is_login else CHANNEL_CODES.get(str(channel), 0),
            category=None if is_login else _opt_str(row.get("merchant_category")),
            merchant_id=None if is_login else _opt_str(row.get("merchant_id")),
            country=_opt_str(row.get("country")),
            lat=_opt_float(row.get("lat")),
            lon=_opt_float(row.get("lon")),
            device_id=_opt_str(row.get("device_id")),
            payee_id=None if is_login else _opt_str(row.get("payee_id")),
        )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
