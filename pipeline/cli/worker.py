"""``fraudstream worker``: run one streaming worker (a member of the consumer group)."""

from __future__ import annotations

import typer
from rich.console import Console

from pipeline.cli.context import settings_of

console = Console(stderr=True)


def worker(
    ctx: typer.Context,
    web_port: int | None = typer.Option(None, "--web-port", help="health/metrics port"),
    bootstrap: str | None = typer.Option(None, "--bootstrap", help="Kafka bootstrap servers"),
    store: str | None = typer.Option(None, "--store", help="rocksdb:// or memory://"),
) -> None:
    """Score transactions and logins from Kafka until stopped (Ctrl-C / SIGTERM)."""
    from faust import Worker  # faust is heavy to import: only the worker pays for it

    from pipeline.kafka import create_topics
    from pipeline.worker.app import changelog_topics, create_app
    from pipeline.worker.models import ModelHolder
    from schemas import Topic

    settings = settings_of(ctx)
    updates = {"web_port": web_port, "kafka_bootstrap": bootstrap, "store": store}
    settings = settings.model_copy(update={k: v for k, v in updates.items() if v is not None})
    holder = ModelHolder(settings)
    model = holder.load_initial()  # a missing or mismatched model fails here, in one line
    console.print(
        f"worker [bold]{settings.worker_id}[/] model={model.version} "
        f"broker={settings.kafka_bootstrap} web=http://127.0.0.1:{settings.web_port}"
    )
    app = create_app(settings, holder)
    # The tables' changelogs exist before the worker joins the group: Faust would create
    # them itself, but a GlobalTable assigned before its changelog exists fails its start.
    create_topics(
        settings.kafka_bootstrap,
        settings.partitions,
        settings.replication_factor,
        topics=changelog_topics(app),
        configs={"cleanup.policy": "compact"},
    )
    # ... and so does the merchant-keyed labels topic (new since the topics of a running
    # deployment may have been created before it)
    create_topics(
        settings.kafka_bootstrap,
        settings.partitions,
        settings.replication_factor,
        topics=[Topic.MERCHANT_LABELS.value],
    )
    runner = Worker(app, loglevel=settings.log_level.upper(), quiet=True)
    # Faust's terminal spinner turns the root logger to DEBUG so that every log record can
    # tick it: each debug line of Faust and aiokafka would be built for nothing.
    runner.spinner = None
    _quiet_gc()
    runner.execute_from_commandline()


def _quiet_gc() -> None:
    """Keep the garbage collector's full passes short.

    Everything loaded so far (Faust, aiokafka, the model, the settings) lives as long as the
    process: frozen, a full collection no longer walks it (produce → score p99 at 1,000
    events/s halved; docs/BENCHMARKS.md). What survives each later full collection is
    frozen too (pipeline/gcpolicy.py).
    """
    from pipeline.gcpolicy import install

    install()
