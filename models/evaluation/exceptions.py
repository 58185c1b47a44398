"""Errors of offline scoring and evaluation."""

from __future__ import annotations

from models.exceptions import ModelError


class EvaluationError(ModelError):
    """An evaluation cannot run on this log or with these models; the message says why."""
