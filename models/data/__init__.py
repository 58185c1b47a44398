"""Event logs for training and scoring: loading, column mappings, time splits, replay."""

from models.data.event_log import DEFAULT_LABEL_DELAY, EventLog, load_event_log
from models.data.exceptions import EventLogError
from models.data.mapping import ColumnMapping, load_mapping
from models.data.replayed import ReplayedLog, replay_log
from models.data.split import TimeSplit, time_split

__all__ = [
    "DEFAULT_LABEL_DELAY",
    "ColumnMapping",
    "EventLog",
    "EventLogError",
    "ReplayedLog",
    "TimeSplit",
    "load_event_log",
    "load_mapping",
    "replay_log",
    "time_split",
]
