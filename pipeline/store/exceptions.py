"""Errors of the training store."""

from __future__ import annotations

from schemas import FraudstreamError


class StoreError(FraudstreamError):
    """The training store cannot run or write; the message says what to do."""


class StoreConfigError(StoreError):
    """The store's options are inconsistent; the message names the option to change."""


class StoreLockedError(StoreError):
    """Another store process writes to the same directory."""
