"""The data gate: Great Expectations suites, built from ``schemas``, that bad training data
must pass before it reaches a model."""

from data_quality.config import GateConfig
from data_quality.exceptions import DataQualityError, DatasetError, GateConfigError
from data_quality.gate import build_plans, run_gate
from data_quality.loading import Dataset, Table, load_dataset
from data_quality.plan import Plan, Skipped
from data_quality.reference import ReferenceProfile, profile_reference
from data_quality.report import FailedExpectation, GateResult

__all__ = [
    "DataQualityError",
    "Dataset",
    "DatasetError",
    "FailedExpectation",
    "GateConfig",
    "GateConfigError",
    "GateResult",
    "Plan",
    "ReferenceProfile",
    "Skipped",
    "Table",
    "build_plans",
    "load_dataset",
    "profile_reference",
    "run_gate",
]
