"""A simulated analyst team: verdicts on alerts and chargebacks on missed frauds, for demos."""

from pipeline.analysts.config import AnalystsConfig
from pipeline.analysts.exceptions import AnalystsConfigError, AnalystsError
from pipeline.analysts.team import AnalystTeam, analyst_name, draw
from pipeline.analysts.truth import Truth, TruthMap, truth_of

__all__ = [
    "AnalystTeam",
    "AnalystsConfig",
    "AnalystsConfigError",
    "AnalystsError",
    "Truth",
    "TruthMap",
    "analyst_name",
    "draw",
    "truth_of",
]
