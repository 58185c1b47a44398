"""The record types of fraudstream: the single source of truth for every field.

JSON Schema files (``schemas/json``), the polars schema of the Parquet datasets and the
data-quality suites are all derived from these models; nothing else retypes a field.

Conventions
- Timestamps are UTC. An ISO-8601 string with an offset is converted to UTC; one without an
  offset is read as UTC; a number is seconds since the Unix epoch.
- Amounts are non-negative finite decimals, given as a JSON number or a decimal string,
  always with a three-letter ISO 4217 currency code.
- Unknown fields are ignored (forward compatibility): a producer may add fields before the
  consumers know them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    model_validator,
)

MAX_ID_LENGTH = 128
MAX_TEXT_LENGTH = 512

Id = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]
Text = Annotated[str, Field(max_length=MAX_TEXT_LENGTH)]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
Latitude = Annotated[float, Field(ge=-90.0, le=90.0, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180.0, le=180.0, allow_inf_nan=False)]
Amount = Annotated[
    Decimal,
    Field(ge=0, allow_inf_nan=False, max_digits=24, decimal_places=8, description="decimal"),
]
Probability = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]


@dataclass(frozen=True, slots=True)
class TimeBounds:
    """Accepted range of event timestamps.

    The defaults accept any historical replay from 1990 on and reject events more than one
    day in the future (clock skew allowance). ``now`` is read at validation time unless
    fixed, so a long-running worker keeps an up-to-date upper bound.
    """

    earliest: datetime = datetime(1990, 1, 1, tzinfo=UTC)
    max_future: timedelta = timedelta(days=1)
    now: datetime | None = field(default=None)

    def latest(self) -> datetime:
        return (self.now or datetime.now(UTC)) + self.max_future


DEFAULT_TIME_BOUNDS = TimeBounds()


def _to_utc(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("timestamp must be an ISO-8601 string or epoch seconds, not a boolean")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError, ValueError) as err:
            raise ValueError(f"epoch seconds {value!r} out of range") from err
    return value


def _check_time(value: datetime, info: ValidationInfo) -> datetime:
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    bounds = DEFAULT_TIME_BOUNDS
    if info.context and isinstance(info.context.get("time_bounds"), TimeBounds):
        bounds = info.context["time_bounds"]
    if value < bounds.earliest:
        raise ValueError(f"timestamp {value.isoformat()} is before {bounds.earliest.isoformat()}")
    latest = bounds.latest()
    if value > latest:
        raise ValueError(f"timestamp {value.isoformat()} is after {latest.isoformat()} (future)")
    return value


#: an event or label time: normalised to UTC and checked against the TimeBounds in the
#: validation context (``context={"time_bounds": TimeBounds(...)}``)
UtcTimestamp = Annotated[datetime, BeforeValidator(_to_utc), AfterValidator(_check_time)]


class Record(BaseModel):
    """Base of every record: unknown fields ignored, instances immutable."""

    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)

    #: the Kafka topic this record travels on
    topic: ClassVar[str]


class EventRecord(Record):
    """Fields shared by the events that are scored (transactions and logins)."""

    event_id: Id
    account_id: Id
    ts: UtcTimestamp = Field(description="event time, UTC")

    event_type: ClassVar[str]


class Channel(StrEnum):
    POS = "pos"
    ECOM = "ecom"
    ATM = "atm"
    TRANSFER = "transfer"


class Transaction(EventRecord):
    """A card or account payment."""

    topic: ClassVar[str] = "fraud.transactions.v1"
    event_type: ClassVar[str] = "transaction"

    card_id: Id | None = None
    amount: Amount
    currency: CurrencyCode
    merchant_id: Id
    merchant_category: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="merchant category code or name"
    )
    channel: Channel
    country: CountryCode | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    device_id: Id | None = None
    ip: Annotated[str, Field(max_length=64)] | None = None
    payee_id: Id | None = Field(default=None, description="beneficiary of a transfer")


class Login(EventRecord):
    """An authentication attempt on the account."""

    topic: ClassVar[str] = "fraud.logins.v1"
    event_type: ClassVar[str] = "login"

    success: bool
    device_id: Id | None = None
    ip: Annotated[str, Field(max_length=64)] | None = None
    asn: Annotated[int, Field(ge=0, le=4_294_967_295)] | None = None
    country: CountryCode | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    user_agent: Text | None = None
    auth_method: Annotated[str, Field(max_length=32)] | None = None
    failure_reason: Annotated[str, Field(max_length=64)] | None = None


class Label(StrEnum):
    FRAUD = "fraud"
    GENUINE = "genuine"


class FeedbackSource(StrEnum):
    ANALYST = "analyst"
    CHARGEBACK = "chargeback"
    CUSTOMER = "customer"


class Feedback(Record):
    """A late label on an earlier event: an analyst verdict, a chargeback or a dispute."""

    topic: ClassVar[str] = "fraud.feedback.v1"

    event_id: Id = Field(description="the labelled event")
    account_id: Id
    ts: UtcTimestamp = Field(description="when the label arrived, UTC")
    merchant_id: Id | None = Field(
        default=None, description="merchant of the labelled transaction, when known"
    )
    label: Label
    source: FeedbackSource
    analyst_id: Id | None = None
    note: Text | None = None
    fraud_type: Id | None = Field(
        default=None,
        description="the fraud's type, when the label gives one (an analyst's typology, a "
        "chargeback's reason); fraud labels only",
    )

    @model_validator(mode="after")
    def _fraud_type_on_fraud_only(self) -> Feedback:
        if self.fraud_type is not None and self.label is not Label.FRAUD:
            raise ValueError(f"fraud_type {self.fraud_type!r} on a {self.label.value} label")
        return self


class Decision(StrEnum):
    ALLOW = "allow"
    REVIEW = "review"
    BLOCK = "block"


class Score(Record):
    """The decision on one event; alerts (review/block) carry the same record."""

    topic: ClassVar[str] = "fraud.scores.v1"

    event_id: Id
    account_id: Id
    event_type: Literal["transaction", "login"]
    fraud_score: Probability
    anomaly_score: Annotated[float, Field(allow_inf_nan=False)]
    decision: Decision
    reasons: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=3)]
    model_version: Id
    latency_ms: Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
    scored_at: datetime
    event_ts: datetime | None = Field(default=None, description="the scored event's time")


class DeadLetter(Record):
    """A message that could not be decoded, kept with its coordinates and the reason."""

    topic: ClassVar[str] = "fraud.deadletter.v1"

    source_topic: Annotated[str, Field(min_length=1, max_length=249)]
    source_partition: Annotated[int, Field(ge=0)]
    source_offset: Annotated[int, Field(ge=0)]
    raw: str = Field(description="the original bytes, base64")
    error_class: Annotated[str, Field(max_length=64)]
    message: Annotated[str, Field(max_length=4096)]
    seen_at: datetime


class ModelUpdate(Record):
    """A promoted model version, announced to the running workers."""

    topic: ClassVar[str] = "fraud.model-updates.v1"

    version: Id
    uri: Annotated[str, Field(min_length=1, max_length=4096)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    promoted_at: datetime
    metrics: dict[str, float] = Field(default_factory=dict)


#: every record type, by the name used for its JSON Schema file
RECORD_TYPES: dict[str, type[Record]] = {
    "transaction": Transaction,
    "login": Login,
    "feedback": Feedback,
    "score": Score,
    "dead_letter": DeadLetter,
    "model_update": ModelUpdate,
}

#: the record type carried by each input topic
RECORD_BY_TOPIC: dict[str, type[Record]] = {cls.topic: cls for cls in RECORD_TYPES.values()}
