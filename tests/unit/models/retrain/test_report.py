"""The retrain report: which per-scenario checks ran, or that none could."""

from __future__ import annotations

from models.evaluation.document import Paragraph, Table
from models.retrain import Comparison, ModelMetrics
from models.retrain.report import NO_SCENARIOS, scenario_blocks


def _metrics(scenarios: dict[str, tuple[int, int]]) -> ModelMetrics:
    return ModelMetrics(1000, 20, 0.7, 0.8, 0.001, scenarios)


def test_sets_without_scenario_labels_say_the_check_could_not_run() -> None:
    empty = Comparison("regression", _metrics({}), _metrics({}))
    blocks = scenario_blocks({"regression": empty}, set())
    assert any(isinstance(b, Paragraph) and b.text == NO_SCENARIOS for b in blocks)
    assert not any(isinstance(b, Table) for b in blocks)


def test_sets_with_scenario_labels_get_the_table() -> None:
    old, new = (
        _metrics({"ato": (60, 48), "ct": (10, 8)}),
        _metrics({"ato": (60, 36), "ct": (10, 6)}),
    )
    blocks = scenario_blocks(
        {"regression": Comparison("regression", old, new)}, {"regression.scenario.ato"}
    )
    tables = [b for b in blocks if isinstance(b, Table)]
    assert len(tables) == 1 and tables[0].rows == [
        ["regression", "ato", "60", "0.800", "0.600", "-20.0", "checked"],
        ["regression", "ct", "10", "0.800", "0.600", "-20.0", "reported"],
    ]
