"""The manifest of a registered model: what it reads, what it outputs, how to decide.

``manifest.json`` sits beside ``model.onnx`` in every registry version. A worker trusts a
model only through it: the feature-set hash must equal this code's, the sha256 must equal
the file's, and the thresholds turn its score into allow / review / block.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.features import FeatureSpec

#: format of manifest.json; bump when a field changes meaning
MANIFEST_FORMAT = 1

#: the event types a model decides on (``EventView.event_type``)
EVENT_TYPES: tuple[str, ...] = ("transaction", "login")
#: between an event type and a channel in a threshold key: ``transaction/ecom``
CHANNEL_SEPARATOR = "/"

#: input names: one flattened token per event, or the K-token window
FEATURES_INPUTS: tuple[str, ...] = ("features",)
WINDOW_INPUTS: tuple[str, ...] = ("cat", "num", "mask")

ModelKind = Literal["baseline", "transformer"]


def threshold_key(event_type: str, channel: str | None = None) -> str:
    """The key of an event's own thresholds: ``transaction/ecom``, or its event type alone
    when it has no channel. A model without that key uses its event type's."""
    return f"{event_type}{CHANNEL_SEPARATOR}{channel}" if channel else event_type


class Thresholds(BaseModel):
    """Fraud-score cut-offs of one event type (or one channel of it): review at or above
    ``review``, block above."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    review: float = Field(ge=0.0, allow_inf_nan=False)
    block: float = Field(ge=0.0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.block < self.review:
            raise ValueError(f"block threshold {self.block} is below review {self.review}")
        return self


class OutputNames(BaseModel):
    """Names of the ONNX outputs that hold each score."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fraud_probability: str = "fraud_probability"
    anomaly_score: str = "anomaly_score"


class Manifest(BaseModel):
    """Everything a worker needs to know about a model file, stored as manifest.json.

    ``version`` and ``sha256`` are filled in by :meth:`models.registry.Registry.register`.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", protected_namespaces=())

    format: int = MANIFEST_FORMAT
    version: str = "unregistered"
    kind: ModelKind
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    parent_version: str | None = None
    feature_spec: dict[str, Any]
    feature_set_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    window: int = Field(ge=1)
    inputs: list[str] = Field(min_length=1)
    outputs: OutputNames = Field(default_factory=OutputNames)
    #: per event type, and per channel (``transaction/ecom``) where a retrain set them
    thresholds: dict[str, Thresholds]
    metrics: dict[str, float] = Field(default_factory=dict)
    training_data_hash: str = ""
    params: dict[str, Any] = Field(default_factory=dict, description="training settings")
    sha256: str = ""

    @classmethod
    def for_spec(cls, spec: FeatureSpec, **fields: Any) -> Manifest:
        """A manifest whose feature fields come from ``spec`` (never typed by hand)."""
        return cls(
            feature_spec=spec.to_dict(),
            feature_set_hash=spec.hash(),
            window=spec.window,
            **fields,
        )

    def threshold_table(self) -> dict[str, dict[str, float]]:
        """``{"transaction": {"review": x, "block": y}, "login": {…}}``, and channel keys
        (``"transaction/ecom"``) where the model has them."""
        return {kind: cut.model_dump() for kind, cut in self.thresholds.items()}

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        return cls.model_validate_json(text)
