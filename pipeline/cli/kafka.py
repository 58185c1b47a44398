"""``fraudstream kafka …`` (the local broker) and ``fraudstream topics …`` (the design's topics)."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console

from pipeline.cli.context import settings_of
from pipeline.kafka import BrokerError, LocalBroker, create_topics
from pipeline.settings import Settings

kafka_app = typer.Typer(
    help="The local Apache Kafka broker (KRaft, no Docker).", no_args_is_help=True
)
topics_app = typer.Typer(help="Topics of the design.", no_args_is_help=True)
console = Console()

PORT_OPTION = typer.Option(None, "--port", help="broker port [default: FRAUDSTREAM_KAFKA_PORT]")
DATA_DIR_OPTION = typer.Option(
    None, "--data-dir", help="broker data dir [default: <FRAUDSTREAM_HOME>/kafka/data]"
)


def _find_broker(settings: Settings, port: int | None, data_dir: Path | None) -> LocalBroker:
    """The broker named by ``--data-dir``, else the one recorded for ``--port``, else the default.

    Run-files live in data dirs; without ``--data-dir`` the data dirs under
    ``<home>/kafka`` are searched for one whose broker runs on ``--port``.
    """
    if data_dir is not None or port is None:
        return LocalBroker(settings, port=port, data_dir=data_dir)
    for run_file in sorted(settings.kafka_dir.glob("*/broker.json")):
        candidate = LocalBroker(settings, port=port, data_dir=run_file.parent)
        state = candidate.status(probe=False)
        if state.running and state.port == port:
            return candidate
    default = LocalBroker(settings, port=port)
    state = default.status(probe=False)
    if state.running:
        raise BrokerError(
            f"the broker of {state.data_dir} runs on port {state.port}, not {port}, and no "
            f"other broker of ours is recorded under {settings.kafka_dir}; pass --data-dir"
        )
    return default


@kafka_app.command("fetch")
def fetch(ctx: typer.Context) -> None:
    """Fetch the broker's jars with Maven (quick no-op when they are already there)."""
    broker = LocalBroker(settings_of(ctx))
    fetched = broker.ensure_jars()
    where = settings_of(ctx).kafka_libs
    console.print(f"kafka jars {'fetched into' if fetched else 'already in'} {where}")


@kafka_app.command("up")
def up(
    ctx: typer.Context,
    port: int | None = PORT_OPTION,
    data_dir: Path | None = DATA_DIR_OPTION,
    timeout: float = typer.Option(90.0, "--timeout", help="seconds to wait for the broker"),
) -> None:
    """Fetch the jars if missing, format a new data dir, start the broker and wait for it."""
    settings = settings_of(ctx)
    broker = LocalBroker(settings, port=port, data_dir=data_dir)
    current = broker.status()
    if current.running:
        console.print(
            f"kafka already running: [bold]{current.bootstrap}[/] "
            f"(pid {current.pid}, data {current.data_dir})"
        )
        return
    broker.check_port()
    started = time.monotonic()
    with console.status("fetching Kafka jars with Maven (first run only)…"):
        broker.ensure_jars()
    with console.status("starting Kafka…"):
        formatted = broker.format_if_new()
        broker.start()
        try:
            broker.wait_ready(timeout)
        except BrokerError:
            broker.stop(timeout=10.0)
            raise
    elapsed = time.monotonic() - started
    fresh = " (new data dir)" if formatted else ""
    console.print(
        f"[green]kafka up[/] in {elapsed:.1f}s{fresh}: bootstrap [bold]{broker.bootstrap}[/]"
    )
    console.print(f"  data {broker.data_dir}")
    console.print(f"  logs {broker.layout.server_log}")
    if broker.bootstrap != settings.kafka_bootstrap:
        console.print(f"  export FRAUDSTREAM_KAFKA_BOOTSTRAP={broker.bootstrap}")
    console.print(f"  next: fraudstream topics create --bootstrap {broker.bootstrap}")


@kafka_app.command("down")
def down(
    ctx: typer.Context,
    port: int | None = PORT_OPTION,
    data_dir: Path | None = DATA_DIR_OPTION,
    timeout: float = typer.Option(30.0, "--timeout", help="seconds before SIGKILL"),
) -> None:
    """Stop the broker cleanly (SIGTERM), killing it after --timeout."""
    broker = _find_broker(settings_of(ctx), port, data_dir)
    if broker.stop(timeout):
        console.print(f"[green]kafka stopped[/] (data kept in {broker.data_dir})")
    else:
        console.print(f"kafka was not running (data dir {broker.data_dir})")


@kafka_app.command("status")
def status(
    ctx: typer.Context,
    port: int | None = PORT_OPTION,
    data_dir: Path | None = DATA_DIR_OPTION,
) -> None:
    """Say whether the broker runs and answers; exit 1 when it does not run."""
    broker = _find_broker(settings_of(ctx), port, data_dir)
    state = broker.status()
    if not state.running:
        console.print(f"kafka [yellow]not running[/] (data dir {state.data_dir})")
        raise typer.Exit(1)
    answer = "[green]answers[/]" if state.reachable else "[red]does not answer yet[/]"
    console.print(
        f"kafka running: bootstrap [bold]{state.bootstrap}[/] {answer}, pid {state.pid}, "
        f"since {state.started_at}, data {state.data_dir}"
    )


@topics_app.command("create")
def create(
    ctx: typer.Context,
    partitions: int | None = typer.Option(
        None, "--partitions", min=1, help="partitions per topic [default: FRAUDSTREAM_PARTITIONS]"
    ),
    bootstrap: str | None = typer.Option(
        None, "--bootstrap", help="bootstrap servers [default: FRAUDSTREAM_KAFKA_BOOTSTRAP]"
    ),
) -> None:
    """Create every topic of the design; existing topics are left as they are."""
    settings = settings_of(ctx)
    address = bootstrap or settings.kafka_bootstrap
    count = partitions or settings.partitions
    result = create_topics(
        address, partitions=count, replication_factor=settings.replication_factor
    )
    for name in result.created:
        console.print(f"[green]created[/] {name} ({count} partitions)")
    for name in result.existing:
        note = result.mismatched.get(name)
        if note is None:
            console.print(f"exists  {name}")
        else:
            console.print(f"[yellow]exists[/]  {name} with {note} partitions, not {count}")
    console.print(f"topics ready at {address}")
