"""``fraudstream kafka …`` and ``fraudstream topics …`` (placeholder, filled in next)."""

from __future__ import annotations

import typer

kafka_app = typer.Typer(help="The local Apache Kafka broker.", no_args_is_help=True)
topics_app = typer.Typer(help="Topics of the design.", no_args_is_help=True)
