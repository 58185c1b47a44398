"""Broken messages, derived from valid ones, that the pipeline's door must reject.

Every kind here is rejected by :func:`schemas.decode` with a reason (a unit test holds
that), so a consumer that lets one through has a bug. Required fields are read from the
record models, not listed here.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

import numpy as np
import orjson

from schemas import DEFAULT_LIMITS, Login, Record, Transaction

HEADER = "fs-malformed"


class MalformedKind(StrEnum):
    NOT_JSON = "not_json"
    TRUNCATED_JSON = "truncated_json"
    JSON_ARRAY = "json_array"
    MISSING_FIELD = "missing_field"
    NEGATIVE_AMOUNT = "negative_amount"
    BAD_CURRENCY = "bad_currency"
    FUTURE_TIMESTAMP = "future_timestamp"
    OVERSIZED = "oversized"
    WRONG_TYPE = "wrong_type"


#: kinds that only make sense for a transaction (logins have no amount or currency)
TRANSACTION_ONLY = frozenset({MalformedKind.NEGATIVE_AMOUNT, MalformedKind.BAD_CURRENCY})

#: (field, a value of the wrong type) per record type
_WRONG_TYPES: dict[type[Record], tuple[tuple[str, Any], ...]] = {
    Transaction: (
        ("amount", "twelve euros"),
        ("amount", {"value": 12}),
        ("ts", True),
        ("lat", "north"),
        ("event_id", 12345),
        ("channel", 3),
    ),
    Login: (
        ("success", "maybe"),
        ("asn", "AS3320"),
        ("ts", [2024, 1, 1]),
        ("account_id", 42),
    ),
}
_BAD_CURRENCIES = ("EURO", "eu", "€", "12$", "")
FUTURE_TS = "2999-01-01T00:00:00Z"


def _required(record_type: type[Record]) -> list[str]:
    return [name for name, f in record_type.model_fields.items() if f.is_required()]


def _not_json(obj: dict[str, Any], rng: np.random.Generator) -> bytes:
    if rng.random() < 0.5:  # a CSV line from a producer that forgot its serializer
        return ";".join(str(v) for v in obj.values()).encode()
    return b"\xff\xfe" + rng.bytes(int(rng.integers(8, 200)))  # binary junk, invalid UTF-8


def malform(
    kind: MalformedKind,
    obj: dict[str, Any],
    record_type: type[Record],
    rng: np.random.Generator,
    max_payload_bytes: int = DEFAULT_LIMITS.max_payload_bytes,
) -> bytes:
    """A broken variant of ``obj`` (the JSON object of a valid ``record_type``)."""
    raw = orjson.dumps(obj)
    if kind is MalformedKind.NOT_JSON:
        return _not_json(obj, rng)
    if kind is MalformedKind.TRUNCATED_JSON:  # the closing brace is always lost
        return raw[: int(rng.integers(1, len(raw) - 1))]
    if kind is MalformedKind.JSON_ARRAY:
        return b"[" + raw + b"]"
    broken = dict(obj)
    if kind is MalformedKind.MISSING_FIELD:
        fields = _required(record_type)
        del broken[fields[int(rng.integers(0, len(fields)))]]
    elif kind is MalformedKind.NEGATIVE_AMOUNT:
        amount = Decimal(str(obj["amount"])).copy_abs()
        broken["amount"] = str(-amount if amount else Decimal("-0.01"))
    elif kind is MalformedKind.BAD_CURRENCY:
        broken["currency"] = _BAD_CURRENCIES[int(rng.integers(0, len(_BAD_CURRENCIES)))]
    elif kind is MalformedKind.FUTURE_TIMESTAMP:
        broken["ts"] = FUTURE_TS
    elif kind is MalformedKind.OVERSIZED:  # unknown fields are ignored, the size is not
        broken["padding"] = "x" * (max_payload_bytes + int(rng.integers(1, 4096)))
    elif kind is MalformedKind.WRONG_TYPE:
        choices = _WRONG_TYPES[record_type]
        name, value = choices[int(rng.integers(0, len(choices)))]
        broken[name] = value
    else:  # pragma: no cover - exhaustive over MalformedKind
        raise ValueError(f"unknown malformed kind {kind!r}")
    return orjson.dumps(broken)
