"""One codec for bytes <-> records (orjson), and the dead-letter helper.

``decode`` never raises anything but :class:`InvalidRecordError`: whatever the bytes are,
they either become a valid record or are rejected with a human-readable reason that the
dead-letter topic keeps beside the original bytes.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from pydantic import ValidationError

from schemas.exceptions import InvalidRecordError
from schemas.records import DEFAULT_TIME_BOUNDS, DeadLetter, Record, TimeBounds

R = TypeVar("R", bound=Record)

DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """What the door accepts: payload size cap and timestamp bounds."""

    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    time_bounds: TimeBounds = DEFAULT_TIME_BOUNDS


DEFAULT_LIMITS = DecodeLimits()


def _describe(err: ValidationError) -> str:
    parts = []
    for item in err.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in item["loc"]) or "record"
        msg = item["msg"]
        if item["type"] == "missing":
            msg = "required field is missing"
        parts.append(f"{where}: {msg}")
    return "; ".join(parts)


def decode(
    record_type: type[R],
    raw: bytes | bytearray | memoryview | None,
    limits: DecodeLimits = DEFAULT_LIMITS,
) -> R:
    """Decode ``raw`` JSON bytes into ``record_type`` or raise :class:`InvalidRecordError`."""
    if raw is None:
        raise InvalidRecordError("message has no value (null payload)", error_class="empty")
    size = len(raw)
    if size == 0:
        raise InvalidRecordError("message is empty", error_class="empty")
    if size > limits.max_payload_bytes:
        raise InvalidRecordError(
            f"payload is {size} bytes, over the {limits.max_payload_bytes}-byte cap",
            error_class="too_large",
        )
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise InvalidRecordError(f"not valid UTF-8 JSON: {err}", error_class="not_json") from err
    if not isinstance(obj, dict):
        raise InvalidRecordError(
            f"expected a JSON object, got {type(obj).__name__}", error_class="not_object"
        )
    try:
        return record_type.model_validate(obj, context={"time_bounds": limits.time_bounds})
    except ValidationError as err:
        raise InvalidRecordError(
            f"invalid {record_type.__name__}: {_describe(err)}", error_class="invalid"
        ) from err
    except (ValueError, TypeError, OverflowError) as err:  # defensive: odd values in validators
        raise InvalidRecordError(
            f"invalid {record_type.__name__}: {err}", error_class="invalid"
        ) from err


def to_json_obj(record: Record) -> dict[str, Any]:
    """The JSON-ready dict of a record (decimals as strings, datetimes as ISO-8601 UTC)."""
    return record.model_dump(mode="json", exclude_none=True)


def encode(record: Record) -> bytes:
    """Serialise a record to compact JSON bytes."""
    return orjson.dumps(to_json_obj(record))


def dead_letter(
    raw: bytes | bytearray | memoryview | None,
    error: InvalidRecordError | str,
    *,
    topic: str,
    partition: int,
    offset: int,
    seen_at: datetime | None = None,
) -> DeadLetter:
    """Build the DeadLetter record that keeps a rejected message and why it was rejected."""
    if isinstance(error, InvalidRecordError):
        error_class, message = error.error_class, error.reason
    else:
        error_class, message = "invalid", str(error)
    return DeadLetter(
        source_topic=topic,
        source_partition=max(partition, 0),
        source_offset=max(offset, 0),
        raw=base64.b64encode(bytes(raw or b"")).decode("ascii"),
        error_class=error_class,
        message=message[:4096],
        seen_at=seen_at or datetime.now(UTC),
    )
