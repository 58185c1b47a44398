"""Errors of model loading, the registry and training."""

from __future__ import annotations

from schemas import FraudstreamError


class ModelError(FraudstreamError):
    """Base of model, registry and training errors."""


class RegistryError(ModelError):
    """The registry directory is missing something or a request names no known version."""


class ModelIntegrityError(ModelError):
    """A registered model's files do not match its manifest (tampered or partly copied)."""


class ModelMismatchError(ModelError):
    """A model does not fit this code: other feature definitions, inputs or outputs."""


class InputShapeError(ModelError):
    """Arrays handed to a scorer do not have the shapes of the feature spec."""


class ParityError(ModelError):
    """The exported ONNX graph does not reproduce the trained model's predictions."""


class TrainingDataError(ModelError):
    """The event log cannot train a model (too few events, no fraud labels, ...)."""
