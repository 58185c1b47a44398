"""``simulate --to kafka`` streams with the collector's survivors frozen, so a full
collection does not stall the producer's sender thread (pipeline/gcpolicy.py)."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from types import SimpleNamespace
from typing import ClassVar

import pytest
from rich.progress import Progress

import pipeline.simulator.kafka_sink as kafka_sink
from pipeline.cli.simulate import _to_kafka
from pipeline.gcpolicy import FreezeSurvivors
from pipeline.simulator import SimulatorConfig
from schemas import DEFAULT_LIMITS


class _Sink:
    """Stands in for the Kafka sink: records the collector's state while it streams."""

    seen: ClassVar[list[tuple[bool, bool]]] = []

    def __init__(self, *_args: object, **_kwargs: object) -> None:
        self.delivered: Counter[str] = Counter()

    def write(self, out: object) -> None:
        self.seen.append(self._state())

    def close(self) -> None:
        self.seen.append(self._state())

    @staticmethod
    def _state() -> tuple[bool, bool]:
        hooked = any(isinstance(cb, FreezeSurvivors) for cb in gc.callbacks)
        return hooked, gc.get_freeze_count() > 0


class _Simulator:
    def __init__(self) -> None:
        self.config = SimulatorConfig(events=10)

    def __iter__(self) -> Iterator[object]:
        yield SimpleNamespace(day="2026-01-01")


def test_the_stream_runs_inside_the_freeze_policy_and_leaves_none_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(kafka_sink, "KafkaSink", _Sink)
    monkeypatch.setattr(kafka_sink, "KafkaSinkConfig", lambda **kw: kw)
    monkeypatch.setattr(
        "pipeline.cli.simulate.MessageStream", lambda *a: SimpleNamespace(malformed=Counter())
    )
    gc.unfreeze()
    _Sink.seen = []
    with Progress() as progress:
        _to_kafka(
            _Simulator(), "127.0.0.1:1", None, 20, DEFAULT_LIMITS, progress, progress.add_task("x")
        )
    assert _Sink.seen == [(True, True), (True, True)]  # while writing and while closing
    assert not any(isinstance(cb, FreezeSurvivors) for cb in gc.callbacks)
    assert gc.get_freeze_count() == 0
