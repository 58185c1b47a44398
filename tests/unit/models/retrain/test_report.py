"""The retrain report says when the per-scenario check could not run."""

from __future__ import annotations

from models.evaluation.document import Paragraph, Table
from models.retrain import Comparison, ModelMetrics
from models.retrain.report import NO_SCENARIOS, scenario_blocks


def _metrics(scenarios: dict[str, tuple[int, int]]) -> ModelMetrics:
    return ModelMetrics(1000, 20, 0.7, 0.8, 0.001, scenarios)


def test_sets_without_scenario_labels_say_the_check_could_not_run() -> None:
    blocks = scenario_blocks({"regression": Comparison("regression", _metrics({}), _metrics({}))})
    assert any(isinstance(b, Paragraph) and b.text == NO_SCENARIOS for b in blocks)
    assert not any(isinstance(b, Table) for b in blocks)


def test_sets_with_scenario_labels_get_the_table() -> None:
    old, new = _metrics({"ato": (10, 8)}), _metrics({"ato": (10, 6)})
    blocks = scenario_blocks({"regression": Comparison("regression", old, new)})
    tables = [b for b in blocks if isinstance(b, Table)]
    assert len(tables) == 1 and tables[0].rows == [
        ["regression", "ato", "10", "0.800", "0.600", "-20.0"]
    ]
