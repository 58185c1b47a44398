"""Errors of a retrain run (a failed data gate is a result, not an error)."""

from __future__ import annotations

from models.exceptions import ModelError


class RetrainError(ModelError):
    """A retrain cannot run: no champion, too little new data, a config out of range."""
