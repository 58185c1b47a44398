"""Root of the ``fraudstream`` CLI: builds settings once, configures logging, adds commands."""

from __future__ import annotations

import logging
import sys

import typer
from rich.console import Console

from pipeline.cli import bench as bench_cmd
from pipeline.cli import check_data as check_data_cmd
from pipeline.cli import demo as demo_cmd
from pipeline.cli import evaluate as evaluate_cmd
from pipeline.cli import kafka as kafka_cmd
from pipeline.cli import model as model_cmd
from pipeline.cli import retrain as retrain_cmd
from pipeline.cli import schemas as schemas_cmd
from pipeline.cli import score as score_cmd
from pipeline.cli import simulate as simulate_cmd
from pipeline.cli import store as store_cmd
from pipeline.cli import train as train_cmd
from pipeline.cli import worker as worker_cmd
from pipeline.cli.context import CliState
from pipeline.settings import load_settings
from schemas import FraudstreamError

app = typer.Typer(
    name="fraudstream",
    help="Streaming fraud and anomaly detection on Kafka.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)


@app.callback()
def _root(
    ctx: typer.Context,
    log_level: str = typer.Option("INFO", "--log-level", help="DEBUG, INFO, WARNING, ERROR"),
) -> None:
    logging.basicConfig(
        level=log_level.upper(),
        format="%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
        stream=sys.stderr,
    )
    if logging.getLogger().level > logging.DEBUG:
        # kafka-python and aiokafka narrate every connection at INFO
        for noisy in ("kafka", "aiokafka"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    ctx.obj = CliState(settings=load_settings())


app.add_typer(kafka_cmd.kafka_app, name="kafka")
app.add_typer(kafka_cmd.topics_app, name="topics")
app.add_typer(schemas_cmd.schemas_app, name="schemas")
app.add_typer(model_cmd.model_app, name="model")
app.add_typer(bench_cmd.bench_app, name="bench")
app.add_typer(simulate_cmd.simulate_app, name="simulate")
app.command("store")(store_cmd.store)
app.command("demo")(demo_cmd.demo)
app.command("train")(train_cmd.train)
app.command("evaluate")(evaluate_cmd.evaluate)
app.command("score")(score_cmd.score)
app.command("worker")(worker_cmd.worker)
app.command("check-data")(check_data_cmd.check_data)
app.command("retrain")(retrain_cmd.retrain_command)


def main() -> None:
    """Console-script entry point: one clear line and a non-zero exit on a known error."""
    try:
        app()
    except FraudstreamError as err:
        err_console.print(f"[bold red]error:[/] {err}")
        raise SystemExit(1) from err
