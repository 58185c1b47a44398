"""Announce a promoted model on ``fraud.model-updates.v1`` (every worker swaps to it)."""

from __future__ import annotations

import logging

from kafka import KafkaProducer
from kafka.errors import KafkaError

from pipeline.kafka.exceptions import KafkaUnavailableError
from schemas import ModelUpdate, Topic, encode

log = logging.getLogger(__name__)


def publish_model_update(bootstrap: str, update: ModelUpdate, timeout_s: float = 30.0) -> None:
    """Send one ModelUpdate and wait for the broker's acknowledgement."""
    try:
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    except KafkaError as err:
        raise KafkaUnavailableError(bootstrap, str(err)) from err
    try:
        producer.send(
            Topic.MODEL_UPDATES.value, key=update.version.encode(), value=encode(update)
        ).get(timeout=timeout_s)
    finally:
        producer.close(timeout=10)
    log.info("model_update_published version=%s sha256=%s", update.version, update.sha256[:12])
