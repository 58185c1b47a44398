"""Runtime settings, read once from ``FRAUDSTREAM_*`` environment variables.

The CLI builds one :class:`Settings` and passes it down; nothing else reads the environment.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas import DecodeLimits, FraudstreamError, TimeBounds


class SettingsError(FraudstreamError):
    """A ``FRAUDSTREAM_*`` variable holds a value the settings refuse."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRAUDSTREAM_", extra="ignore")

    home: Path = Field(
        default=Path(".state"), description="runtime state: jars, broker data, registry, logs"
    )
    kafka_bootstrap: str = Field(default="127.0.0.1:9092", description="bootstrap servers")
    kafka_port: int = Field(default=9092, ge=1, le=65535, description="port of the local broker")
    kafka_heap_mb: int = Field(default=512, ge=128, le=4096)
    partitions: int = Field(default=4, ge=1, le=1024)
    replication_factor: int = Field(default=1, ge=1)

    max_payload_bytes: int = Field(default=64 * 1024, ge=256)
    earliest_event_time: datetime = datetime(1990, 1, 1, tzinfo=UTC)
    max_future_seconds: float = Field(default=86_400.0, ge=0)

    # ---- worker ----
    worker_id: str = Field(default="fraudstream", description="Faust app id = consumer group")
    web_port: int = Field(default=6066, ge=1, le=65535)
    store: str = Field(default="rocksdb://", description="rocksdb:// or memory://")
    processing_guarantee: str = Field(default="at_least_once")
    producer_compression: Literal["zstd", "lz4", "snappy", "gzip", "none"] = Field(
        default="zstd", description="codec of the worker's record batches (Scores, alerts, "
        "table changelogs); none = uncompressed",
    )  # fmt: skip
    window: int = Field(default=32, ge=1, le=256, description="events per account a model reads")
    batch_max: int = Field(default=256, ge=1)
    batch_within_ms: float = Field(default=5.0, gt=0)
    express: bool = Field(
        default=True, description="events go from the fetch loop to the scorer in batches, "
        "past Faust's streams; false: through the agent's stream",
    )  # fmt: skip
    profile_cache_size: int = Field(
        default=10_000, ge=0, description="account profiles kept parsed between batches "
        "(up to about 20 KB each); 0 = read every profile from the store",
    )  # fmt: skip
    review_threshold: float | None = Field(default=None, ge=0, le=1, description="override")
    block_threshold: float | None = Field(default=None, ge=0, le=1, description="override")
    model_version: str | None = Field(default=None, description="serve this version, not current")
    readback_margin_s: float = Field(
        default=30.0, ge=0, description="outputs read back from this long before the oldest "
        "uncommitted input (clock skew between producers and workers)",
    )  # fmt: skip
    readback_lookback_s: float = Field(
        default=900.0, gt=0, description="read-back never reaches further back than this: "
        "how long a crashed worker may stay down and still not score an event twice",
    )  # fmt: skip
    readback_max_records: int = Field(default=2_000_000, ge=0)
    log_level: str = Field(default="WARNING", description="worker log level (Faust's, too)")

    @property
    def kafka_dir(self) -> Path:
        return self.home / "kafka"

    @property
    def kafka_libs(self) -> Path:
        return self.kafka_dir / "libs"

    @property
    def kafka_data(self) -> Path:
        return self.kafka_dir / "data"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def registry_dir(self) -> Path:
        return self.home / "registry"

    @property
    def worker_dir(self) -> Path:
        return self.home / "worker"

    @property
    def worker_data_dir(self) -> Path:
        """This worker's local table store: one per worker id and web port, as two workers on
        one host need their own RocksDB files and a restarted worker finds its own again."""
        return self.worker_dir / f"{self.worker_id}-{self.web_port}"

    @property
    def store_dir(self) -> Path:
        """The training store's Parquet dataset (``fraudstream store``)."""
        return self.home / "store"

    def decode_limits(self) -> DecodeLimits:
        return DecodeLimits(
            max_payload_bytes=self.max_payload_bytes,
            time_bounds=TimeBounds(
                earliest=self.earliest_event_time,
                max_future=timedelta(seconds=self.max_future_seconds),
            ),
        )


def load_settings() -> Settings:
    """:class:`Settings` from the environment; a refused value is one line naming its variable."""
    try:
        return Settings()
    except ValidationError as err:
        prefix = Settings.model_config.get("env_prefix", "")
        problems = "; ".join(
            f"{prefix}{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in err.errors()
        )
        raise SettingsError(f"invalid setting {problems}") from None
