"""Streaming pipeline: Faust workers, Kafka tooling, simulator and CLI."""

__all__: list[str] = []
