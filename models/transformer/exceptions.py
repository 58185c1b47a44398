"""Errors of the transformer's training and export."""

from __future__ import annotations

from models.exceptions import ModelError


class TransformerError(ModelError):
    """Base of the transformer's training and export errors."""


class CheckpointError(TransformerError):
    """A checkpoint folder belongs to another run or is damaged: the message says which."""
