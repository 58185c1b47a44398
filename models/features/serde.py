"""Compact bytes for the state stores (Faust tables and their changelogs).

An account profile is a small JSON header (orjson) followed by the raw token ring, so a
profile of K=32 tokens is about 3 KB and round-trips bit for bit: a worker that restarts
from the changelog computes exactly the inputs it would have computed before.
"""

from __future__ import annotations

import struct
from dataclasses import asdict

import numpy as np
import orjson

from models.features.exceptions import StateFormatError
from models.features.profile import N_CAT, N_NUM, AccountProfile, MerchantActivity, MerchantRisk

#: the format, feature set included: a profile written for other features is refused
MAGIC = b"FSP2"
_HEADER = struct.Struct("<4sI")
_SCALARS = (
    "window", "first_ts", "last_ts", "counts", "amounts", "failed_logins", "last_login_ts",
    "home_country", "last_geo", "last_physical_geo", "amount_n", "amount_mean", "amount_var",
    "devices", "countries", "merchants", "payees", "recent_ids", "seen",
)  # fmt: skip


def profile_to_bytes(profile: AccountProfile) -> bytes:
    header = orjson.dumps({name: getattr(profile, name) for name in _SCALARS})
    return b"".join(
        (
            _HEADER.pack(MAGIC, len(header)),
            header,
            np.ascontiguousarray(profile.cat, dtype=np.uint8).tobytes(),
            np.ascontiguousarray(profile.num, dtype="<f4").tobytes(),
        )
    )


def profile_from_bytes(data: bytes) -> AccountProfile:
    try:
        magic, size = _HEADER.unpack_from(data, 0)
        if magic != MAGIC:
            raise ValueError(
                f"bad magic {magic!r}, this code reads {MAGIC!r}: a profile written for "
                "another feature set; start the worker with a new FRAUDSTREAM_WORKER_ID "
                "(its state tables start empty) or delete its state"
            )
        offset = _HEADER.size
        fields = orjson.loads(data[offset : offset + size])
        offset += size
        k = int(fields["window"])
        cat = np.frombuffer(data, dtype=np.uint8, count=k * N_CAT, offset=offset)
        offset += k * N_CAT
        num = np.frombuffer(data, dtype="<f4", count=k * N_NUM, offset=offset)
    except (ValueError, KeyError, struct.error, orjson.JSONDecodeError) as err:
        raise StateFormatError(f"unreadable account profile: {err}") from err
    for name in ("last_geo", "last_physical_geo"):
        if fields.get(name) is not None:
            fields[name] = tuple(fields[name])
    return AccountProfile(
        **fields,
        cat=cat.reshape(k, N_CAT).copy(),
        num=num.reshape(k, N_NUM).astype(np.float32),
    )


def activity_to_bytes(activity: MerchantActivity) -> bytes:
    # orjson writes a dataclass as asdict() would, in a fifth of the time (hot path)
    return orjson.dumps(activity)


def activity_from_bytes(data: bytes) -> MerchantActivity:
    return MerchantActivity(**orjson.loads(data))


def risk_to_bytes(risk: MerchantRisk) -> bytes:
    return orjson.dumps(asdict(risk))


def risk_from_bytes(data: bytes) -> MerchantRisk:
    return MerchantRisk(**orjson.loads(data))
