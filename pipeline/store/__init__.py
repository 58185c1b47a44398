"""The training store: scored events and their late labels as a deduplicated Parquet dataset."""

from pipeline.store.columns import EVENT_SCHEMA, FEEDBACK_SCHEMA, SCORE_COLUMNS
from pipeline.store.config import STORE_TOPICS, StoreConfig
from pipeline.store.core import FlushResult, Message, StoreCore
from pipeline.store.exceptions import StoreConfigError, StoreError, StoreLockedError
from pipeline.store.sampling import keep_event, sample_point

__all__ = [
    "EVENT_SCHEMA",
    "FEEDBACK_SCHEMA",
    "SCORE_COLUMNS",
    "STORE_TOPICS",
    "FlushResult",
    "Message",
    "StoreConfig",
    "StoreConfigError",
    "StoreCore",
    "StoreError",
    "StoreLockedError",
    "keep_event",
    "sample_point",
]
