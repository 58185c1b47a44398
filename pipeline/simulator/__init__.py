"""A seeded, realistic bank: accounts, merchants, genuine habits, fraud scenarios, late labels.

Pure generation (numpy + polars); the Kafka sink lives in ``pipeline.simulator.kafka_sink``
and is imported only by whoever sends to Kafka.
"""

from pipeline.simulator.config import (
    DEFAULT_SCENARIO_MIX,
    BehaviourConfig,
    Drift,
    Scenario,
    SimulatorConfig,
    parse_delay_range,
)
from pipeline.simulator.exceptions import SimulatorConfigError, SimulatorError, SinkError
from pipeline.simulator.generator import DayOutput, SimulationStats, Simulator, random_streams
from pipeline.simulator.malformed import MalformedKind, malform
from pipeline.simulator.messages import (
    HEADER_IS_FRAUD,
    HEADER_SCENARIO,
    Message,
    MessageStream,
)
from pipeline.simulator.records import event_record, feedback_record
from pipeline.simulator.sinks import MemorySink, ParquetSink, Sink

__all__ = [
    "DEFAULT_SCENARIO_MIX",
    "HEADER_IS_FRAUD",
    "HEADER_SCENARIO",
    "BehaviourConfig",
    "DayOutput",
    "Drift",
    "MalformedKind",
    "MemorySink",
    "Message",
    "MessageStream",
    "ParquetSink",
    "Scenario",
    "SimulationStats",
    "Simulator",
    "SimulatorConfig",
    "SimulatorConfigError",
    "SimulatorError",
    "Sink",
    "SinkError",
    "event_record",
    "feedback_record",
    "malform",
    "parse_delay_range",
    "random_streams",
]
