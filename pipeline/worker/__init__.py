"""Streaming worker: Faust app, batch engine, metrics, model hot swap."""

__all__: list[str] = []
