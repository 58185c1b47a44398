"""Kafka topic names of the design, defined once."""

from __future__ import annotations

from enum import StrEnum


class Topic(StrEnum):
    TRANSACTIONS = "fraud.transactions.v1"
    LOGINS = "fraud.logins.v1"
    FEEDBACK = "fraud.feedback.v1"
    SCORES = "fraud.scores.v1"
    ALERTS = "fraud.alerts.v1"
    DEADLETTER = "fraud.deadletter.v1"
    MODEL_UPDATES = "fraud.model-updates.v1"
    #: the workers' own: each label of fraud.feedback.v1 that names a merchant, keyed by
    #: merchant_id, so that one worker alone keeps each merchant's label statistics
    MERCHANT_LABELS = "fraud.merchant-labels.v1"


ALL_TOPICS: tuple[str, ...] = tuple(t.value for t in Topic)

# Topics keyed by account_id: they must share partition count and key so that one
# account's transactions, logins and feedback meet in the same worker.
ACCOUNT_KEYED_TOPICS: tuple[str, ...] = (
    Topic.TRANSACTIONS.value,
    Topic.LOGINS.value,
    Topic.FEEDBACK.value,
)
