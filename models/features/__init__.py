"""Shared state updates and input encoding: the same code online and offline."""

from models.features.events import EventView
from models.features.exceptions import FeatureError, MappingError, StateFormatError
from models.features.profile import AccountProfile, MerchantActivity, MerchantRisk
from models.features.reasons import reasons_for
from models.features.replay import LabelArrival, OnlineState, Replay, merge_in_time, replay
from models.features.serde import (
    activity_from_bytes,
    activity_to_bytes,
    profile_from_bytes,
    profile_to_bytes,
    risk_from_bytes,
    risk_to_bytes,
)
from models.features.tokens import observe

__all__ = [
    "AccountProfile",
    "EventView",
    "FeatureError",
    "LabelArrival",
    "MappingError",
    "MerchantActivity",
    "MerchantRisk",
    "OnlineState",
    "Replay",
    "StateFormatError",
    "activity_from_bytes",
    "activity_to_bytes",
    "merge_in_time",
    "observe",
    "profile_from_bytes",
    "profile_to_bytes",
    "reasons_for",
    "replay",
    "risk_from_bytes",
    "risk_to_bytes",
]
