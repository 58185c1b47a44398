"""kafka-python clients of the project's own services (training store, analyst team)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kafka import KafkaConsumer
from kafka.errors import KafkaError

from pipeline.kafka.admin import bootstrap_hosts
from pipeline.kafka.exceptions import KafkaUnavailableError
from pipeline.kafka.ports import accepts_connections
from schemas import FraudstreamError


def group_consumer(
    bootstrap: str,
    needs: Iterable[str],
    missing_error: type[FraudstreamError],
    **options: Any,
) -> KafkaConsumer:
    """A consumer (``options`` as kafka-python takes them) at a broker that answers and holds
    every topic in ``needs``.

    Fails fast with one clear line: :class:`KafkaUnavailableError` when nothing answers at
    ``bootstrap``, ``missing_error`` naming the topics that do not exist.
    """
    if not any(accepts_connections(h, p, 2.0) for h, p in bootstrap_hosts(bootstrap)):
        raise KafkaUnavailableError(bootstrap, "connection refused")
    try:
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, **options)
    except KafkaError as err:
        raise KafkaUnavailableError(bootstrap, type(err).__name__) from err
    missing = [t for t in needs if t not in consumer.topics()]
    if missing:
        consumer.close(autocommit=False)
        raise missing_error(
            f"topic(s) {', '.join(missing)} do not exist on {bootstrap}; create them with "
            "`fraudstream topics create`"
        )
    return consumer
