"""``fraudstream demo``: the whole local pipeline as far as it exists, then a summary.

Starts its own broker (a data dir of its own under ``<home>/demo``, a free port), creates
the topics, streams simulated events into Kafka, reads every topic back through the door
(the schemas codec) and prints what arrived. Everything it started is stopped on the way
out, also on Ctrl-C or an error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections import Counter

import typer
from kafka import KafkaConsumer, TopicPartition
from rich.console import Console
from rich.table import Table

from pipeline.cli.context import settings_of
from pipeline.kafka import LocalBroker, create_topics
from pipeline.kafka.ports import free_port
from schemas import ACCOUNT_KEYED_TOPICS, RECORD_BY_TOPIC, InvalidRecordError, decode

console = Console()


def demo(
    ctx: typer.Context,
    events: int = typer.Option(20_000, "--events", help="events to simulate"),
    malformed_rate: float = typer.Option(0.01, "--malformed-rate"),
    keep: bool = typer.Option(False, "--keep", help="keep the demo broker's data afterwards"),
) -> None:
    """Broker → topics → simulated stream → summary, and stop everything started."""
    settings = settings_of(ctx)
    data_dir = settings.home / "demo" / "kafka"
    if data_dir.exists() and not keep:
        shutil.rmtree(data_dir)
    broker = LocalBroker(settings, port=free_port(), data_dir=data_dir)
    console.rule("[bold]fraudstream demo")
    t0 = time.monotonic()
    seconds = broker.up(timeout=120)
    console.print(f"broker ready at [bold]{broker.bootstrap}[/] in {seconds:.1f}s")
    try:
        result = create_topics(broker.bootstrap, partitions=settings.partitions)
        console.print(f"topics: {len(result.created)} created, {len(result.existing)} existing")
        env = dict(os.environ, FRAUDSTREAM_HOME=str(settings.home))
        cmd = [sys.executable, "-m", "pipeline.cli", "simulate", "--to", "kafka",
               "--events", str(events), "--malformed-rate", str(malformed_rate),
               "--bootstrap", broker.bootstrap]  # fmt: skip
        subprocess.run(cmd, env=env, check=True)
        _summary(broker.bootstrap)
    finally:
        broker.stop(timeout=30)
        console.print(f"broker stopped; demo took {time.monotonic() - t0:.1f}s")


def _summary(bootstrap: str) -> None:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tps = [
            TopicPartition(t, p)
            for t in ACCOUNT_KEYED_TOPICS
            for p in sorted(consumer.partitions_for_topic(t) or ())
        ]
        consumer.assign(tps)
        consumer.seek_to_beginning()
        end = consumer.end_offsets(tps)
        valid: Counter[str] = Counter()
        rejected: Counter[tuple[str, str]] = Counter()
        frauds: Counter[str] = Counter()
        deadline = time.monotonic() + 120
        while any(consumer.position(tp) < end[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise typer.Exit(1)
            for batch in consumer.poll(timeout_ms=500, max_records=20_000).values():
                for r in batch:
                    try:
                        decode(RECORD_BY_TOPIC[r.topic], r.value)
                    except InvalidRecordError as err:
                        rejected[(r.topic, err.error_class)] += 1
                        continue
                    valid[r.topic] += 1
                    headers = dict(r.headers or [])
                    if headers.get("fs-is-fraud") == b"1":
                        frauds[headers.get("fs-scenario", b"?").decode()] += 1
    finally:
        consumer.close()
    table = Table(title="read back through the schemas codec")
    table.add_column("topic")
    table.add_column("valid", justify="right")
    table.add_column("rejected (reason class)", justify="right")
    for topic in ACCOUNT_KEYED_TOPICS:
        bad = ", ".join(f"{c}={n}" for (t, c), n in sorted(rejected.items()) if t == topic)
        table.add_row(topic, str(valid[topic]), bad or "0")
    console.print(table)
    if frauds:
        console.print("fraudulent events by scenario: " + ", ".join(
            f"{k}={v}" for k, v in sorted(frauds.items())))  # fmt: skip
