"""Recall per fraud scenario at one alert threshold: which patterns a model misses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: the group of frauds that carry no scenario code (when others do)
NO_SCENARIO = "(no scenario)"


@dataclass(frozen=True, slots=True)
class ScenarioRecall:
    frauds: int
    caught: int

    @property
    def recall(self) -> float:
        return self.caught / self.frauds if self.frauds else float("nan")


def scenario_recall(
    y: np.ndarray, score: np.ndarray, scenarios: np.ndarray, threshold: float | np.ndarray
) -> dict[str, ScenarioRecall]:
    """Per scenario: fraud events, and how many score at or above ``threshold`` (one for
    all events, or one per event).

    Empty when no fraud event carries a scenario code (a real log without ground truth).
    Scenarios are sorted by name.
    """
    fraud = np.asarray(y).astype(bool)
    codes = np.asarray(scenarios, dtype=object)[fraud]
    if not any(isinstance(code, str) and code for code in codes):
        return {}
    names = np.array(
        [code if isinstance(code, str) and code else NO_SCENARIO for code in codes], dtype=object
    )
    alerted = np.asarray(score)[fraud] >= np.broadcast_to(threshold, fraud.shape)[fraud]
    return {
        name: ScenarioRecall(
            frauds=int((names == name).sum()), caught=int(alerted[names == name].sum())
        )
        for name in sorted(set(names.tolist()))
    }
