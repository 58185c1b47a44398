"""Turn one event plus the state before it into a token, and fold the event into the state.

``observe`` is THE shared step of the stream and the offline replay: it reads the account
profile as it was before the event, writes the event's token into the profile's ring and
updates the aggregates. Feature order follows ``schemas.features``.
"""

from __future__ import annotations

import bisect
import math
import zlib

import numpy as np

from models.features.events import CARD_PRESENT, KIND_LOGIN_FAILED, KIND_LOGIN_OK, EventView
from models.features.profile import (
    ACCOUNT_WINDOWS,
    AMOUNT_EWM_ALPHA,
    AMOUNT_WINDOWS,
    HOUR,
    MAX_COUNTRIES,
    MAX_DEVICES,
    MAX_MERCHANTS,
    MAX_PAYEES,
    MAX_RECENT_IDS,
    N_CAT,
    N_NUM,
    AccountProfile,
    MerchantRisk,
    decay,
    remember,
)
from schemas.features import CATEGORICAL, CONTINUOUS

CAT_INDEX = {name: i for i, name in enumerate(CATEGORICAL)}
NUM_INDEX = {name: i for i, name in enumerate(CONTINUOUS)}
EARTH_RADIUS_KM = 6371.0
MIN_TRAVEL_SECONDS = 60.0


def category_code(category: str | None) -> int:
    if category is None:
        return 0
    return 1 + zlib.crc32(category.strip().lower().encode()) % (CATEGORICAL["category"] - 1)


def log_bucket(value: float, scale: float, buckets: int) -> int:
    """1..buckets-1 on a log2 scale of value/scale (0 is reserved for 'not available')."""
    return min(buckets - 1, 1 + int(math.log2(1.0 + max(value, 0.0) / scale)))


def flag(new: bool | None) -> int:
    return 0 if new is None else (2 if new else 1)


def threshold_bucket(value: float, edges: tuple[float, ...]) -> int:
    """1 + number of (sorted) edges at or below value; NaN counts none."""
    if value != value:
        return 1
    return 1 + bisect.bisect_right(edges, value)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def implied_speed(last: tuple[float, float, float], lat: float, lon: float, ts: float) -> float:
    """km/h from ``last`` (lat, lon, ts) to here and now; a minute at least, so two events
    in the same second are not infinitely fast."""
    lat0, lon0, ts0 = last
    return haversine_km(lat0, lon0, lat, lon) / (max(ts - ts0, MIN_TRAVEL_SECONDS) / 3600.0)


RATIO_EDGES = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 64.0)
RISK_EDGES = (0.02, 0.05, 0.15, 0.4)
VELOCITY_EDGES = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
FAILED_EDGES = (0.5, 1.5, 3.0, 6.0)
SPEED_EDGES = (10.0, 100.0, 500.0, 1000.0, 2000.0)
#: events whose travel speed is measured: card-present payments and logins (channel 0)
SPEED_CHANNELS = CARD_PRESENT | {0}


def observe(
    profile: AccountProfile,
    event: EventView,
    merchant_counts: tuple[float, float] | None = None,
    merchant_risk: MerchantRisk | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Compute the event's token from the state before it, then update the state.

    ``merchant_counts`` are the merchant's decayed 1 h / 24 h transaction counts before this
    event and ``merchant_risk`` its label statistics (both None for logins or when unknown).
    Returns the token (cat codes, continuous values), which is also pushed into the ring.
    """
    cat = np.zeros(N_CAT, dtype=np.uint8)
    num = np.zeros(N_NUM, dtype=np.float32)
    ts = event.ts
    is_tx = event.amount is not None

    # ---- state as of this event (decay to now) ----
    gap = None if profile.last_ts is None else max(0.0, ts - profile.last_ts)
    if gap is not None:
        decay(profile.counts, ACCOUNT_WINDOWS, gap)
        decay(profile.amounts, AMOUNT_WINDOWS, gap)
        profile.failed_logins *= math.exp(-gap / HOUR)

    cat[CAT_INDEX["event_kind"]] = event.kind
    cat[CAT_INDEX["channel"]] = event.channel
    cat[CAT_INDEX["category"]] = category_code(event.category)
    cat[CAT_INDEX["hour"]] = 1 + int((ts % 86400) // 3600)
    cat[CAT_INDEX["gap_bucket"]] = 1 if gap is None else 1 + log_bucket(gap, 1.0, 15)
    if gap is not None:
        num[NUM_INDEX["log_gap"]] = math.log1p(gap) / 10.0

    # ---- amount versus the account's habit ----
    if is_tx:
        amount = float(event.amount or 0.0)
        log_amount = math.log1p(amount)
        cat[CAT_INDEX["amount_bucket"]] = log_bucket(amount, 1.0, 16)
        num[NUM_INDEX["log_amount"]] = log_amount / 10.0
        if profile.amount_n >= 3:
            z = (log_amount - profile.amount_mean) / math.sqrt(profile.amount_var + 1e-3)
            num[NUM_INDEX["amount_z"]] = max(-5.0, min(10.0, z)) / 5.0
            usual = math.expm1(profile.amount_mean)
            cat[CAT_INDEX["amount_ratio_bucket"]] = threshold_bucket(
                amount / max(usual, 0.01), RATIO_EDGES
            )
        delta = log_amount - profile.amount_mean
        if profile.amount_n == 0:
            profile.amount_mean, profile.amount_var = log_amount, 1.0
        else:
            profile.amount_mean += AMOUNT_EWM_ALPHA * delta
            profile.amount_var = (1 - AMOUNT_EWM_ALPHA) * (
                profile.amount_var + AMOUNT_EWM_ALPHA * delta * delta
            )
        profile.amount_n += 1

    # ---- velocity before this event ----
    cat[CAT_INDEX["velocity_bucket"]] = threshold_bucket(profile.counts[0], VELOCITY_EDGES)
    for name, value in zip(("tx_1h", "tx_24h", "tx_7d", "tx_30d"), profile.counts, strict=True):
        num[NUM_INDEX[name]] = math.log1p(value)
    num[NUM_INDEX["amount_24h"]] = math.log1p(profile.amounts[0]) / 10.0
    num[NUM_INDEX["amount_30d"]] = math.log1p(profile.amounts[1]) / 10.0
    cat[CAT_INDEX["failed_login_bucket"]] = threshold_bucket(profile.failed_logins, FAILED_EDGES)
    num[NUM_INDEX["failed_logins_1h"]] = math.log1p(profile.failed_logins)
    if profile.last_login_ts is not None:
        num[NUM_INDEX["log_since_login"]] = math.log1p(max(0.0, ts - profile.last_login_ts)) / 10
    else:
        num[NUM_INDEX["log_since_login"]] = 1.5

    # ---- novelty flags (before remembering this event) ----
    had_devices = bool(profile.devices)
    new_device = remember(profile.devices, event.device_id, MAX_DEVICES)
    cat[CAT_INDEX["new_device"]] = flag(new_device if had_devices else None)
    if event.country is not None:
        if profile.home_country is None:
            profile.home_country = event.country
        foreign = event.country != profile.home_country
        num[NUM_INDEX["foreign"]] = float(foreign)
        new_country = remember(profile.countries, event.country, MAX_COUNTRIES)
        cat[CAT_INDEX["new_country"]] = flag(bool(new_country) and foreign)
    if is_tx:
        cat[CAT_INDEX["new_merchant"]] = flag(
            remember(profile.merchants, event.merchant_id, MAX_MERCHANTS)
        )
        cat[CAT_INDEX["new_payee"]] = flag(remember(profile.payees, event.payee_id, MAX_PAYEES))
    num[NUM_INDEX["distinct_merchants"]] = math.log1p(len(profile.merchants))
    num[NUM_INDEX["distinct_devices"]] = math.log1p(len(profile.devices))
    num[NUM_INDEX["distinct_countries"]] = math.log1p(len(profile.countries))

    # ---- travel speed since the last located event, and since the last terminal ----
    if event.lat is not None and event.lon is not None:
        here = (event.lat, event.lon, ts)
        last, terminal = profile.last_geo, profile.last_physical_geo
        if last is not None and event.channel in SPEED_CHANNELS:
            speed = implied_speed(last, event.lat, event.lon, ts)
            cat[CAT_INDEX["travel_bucket"]] = threshold_bucket(speed, SPEED_EDGES)
            num[NUM_INDEX["log_speed_kmh"]] = math.log1p(speed) / 10.0
            if terminal is not None and event.channel in CARD_PRESENT:
                if terminal != last:  # else the last located event was that terminal
                    speed = implied_speed(terminal, event.lat, event.lon, ts)
                cat[CAT_INDEX["physical_travel_bucket"]] = threshold_bucket(speed, SPEED_EDGES)
                num[NUM_INDEX["log_physical_speed_kmh"]] = math.log1p(speed) / 10.0
        if event.channel in CARD_PRESENT:
            profile.last_physical_geo = here
        profile.last_geo = here

    # ---- merchant ----
    if merchant_counts is not None:
        num[NUM_INDEX["merchant_tx_1h"]] = math.log1p(merchant_counts[0])
        num[NUM_INDEX["merchant_tx_24h"]] = math.log1p(merchant_counts[1])
    if merchant_risk is not None and merchant_risk.labels:
        cat[CAT_INDEX["merchant_risk_bucket"]] = threshold_bucket(merchant_risk.rate, RISK_EDGES)
        num[NUM_INDEX["merchant_fraud_rate"]] = merchant_risk.rate
        num[NUM_INDEX["merchant_labels"]] = math.log1p(merchant_risk.labels)

    # ---- fold the event into the aggregates ----
    if profile.first_ts is None:
        profile.first_ts = ts
    num[NUM_INDEX["account_age_days"]] = math.log1p(max(0.0, ts - profile.first_ts) / 86400.0)
    if is_tx:
        profile.counts = [c + 1.0 for c in profile.counts]
        profile.amounts = [a + float(event.amount or 0.0) for a in profile.amounts]
    elif event.kind == KIND_LOGIN_OK:
        profile.last_login_ts = ts
    elif event.kind == KIND_LOGIN_FAILED:
        profile.failed_logins += 1.0
    profile.last_ts = ts if profile.last_ts is None else max(ts, profile.last_ts)
    remember(profile.recent_ids, event.event_id, MAX_RECENT_IDS)
    profile.push(cat, num)
    return cat, num
