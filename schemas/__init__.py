"""Record types, codec and topic names: the single source of truth of fraudstream."""

from schemas.codec import DEFAULT_LIMITS, DecodeLimits, dead_letter, decode, encode, to_json_obj
from schemas.exceptions import FraudstreamError, InvalidRecordError
from schemas.records import (
    RECORD_BY_TOPIC,
    RECORD_TYPES,
    Channel,
    DeadLetter,
    Decision,
    EventRecord,
    Feedback,
    FeedbackSource,
    Label,
    Login,
    ModelUpdate,
    Record,
    Score,
    TimeBounds,
    Transaction,
)
from schemas.topics import ACCOUNT_KEYED_TOPICS, ALL_TOPICS, Topic

__all__ = [
    "ACCOUNT_KEYED_TOPICS",
    "ALL_TOPICS",
    "DEFAULT_LIMITS",
    "RECORD_BY_TOPIC",
    "RECORD_TYPES",
    "Channel",
    "DeadLetter",
    "Decision",
    "DecodeLimits",
    "EventRecord",
    "Feedback",
    "FeedbackSource",
    "FraudstreamError",
    "InvalidRecordError",
    "Label",
    "Login",
    "ModelUpdate",
    "Record",
    "Score",
    "TimeBounds",
    "Topic",
    "Transaction",
    "dead_letter",
    "decode",
    "encode",
    "to_json_obj",
]
