"""The worker app's producer settings, built with ``create_app`` (nothing connects)."""

from __future__ import annotations

from pathlib import Path

from models.features import AccountProfile, EventView, observe, profile_to_bytes
from pipeline.settings import Settings
from pipeline.worker.app import create_app

#: the broker's and the topics' default message.max.bytes
BROKER_MESSAGE_MAX_BYTES = 1_048_588
#: record-batch header plus per-record framing (varints, attributes), generously
RECORD_OVERHEAD = 64


def _busy_profile(window: int) -> bytes:
    """An account profile as big as the stores see: a full ring, every id list grown."""
    profile = AccountProfile(window=window)
    for i in range(4 * window):
        observe(
            profile,
            EventView(
                f"event-{i:06d}-0000-0000-000000000000", "account-1", 1.7e9 + 60 * i, 1,
                amount=10.0 + i, channel=1 + i % 4, category="electronics",
                merchant_id=f"merchant-{i:05d}", country=("FR", "DE", "US", "BR")[i % 4],
                lat=48.0 + i % 10, lon=2.0 + i % 10, device_id=f"device-{i:05d}",
                payee_id=f"payee-{i:05d}",
            ),
        )  # fmt: skip
    return profile_to_bytes(profile)


def test_a_partitions_changelog_records_of_a_batch_fit_one_producer_batch(
    tmp_path: Path,
) -> None:
    """One partition's share of a full micro-batch of account changelog records goes out in
    one record batch (one broker round trip, not one per 16 KB), and a record batch stays
    under the broker's message size limit."""
    settings = Settings(home=tmp_path, store="memory://")
    app = create_app(settings)
    limit = app.conf.producer_max_batch_size
    record = len(_busy_profile(settings.window)) + 64 + RECORD_OVERHEAD  # value, key, framing
    share = -(-settings.batch_max // settings.partitions)
    assert share * record <= limit, (share, record, limit)
    assert limit <= BROKER_MESSAGE_MAX_BYTES


def test_the_workers_producer_compresses_with_the_configured_codec(tmp_path: Path) -> None:
    """Scores, alerts and changelogs go out compressed (zstd unless configured otherwise)."""
    default = create_app(Settings(home=tmp_path, store="memory://"))
    assert default.conf.producer_compression_type == "zstd"
    off = Settings(home=tmp_path, store="memory://", producer_compression="none")
    assert create_app(off).conf.producer_compression_type is None
