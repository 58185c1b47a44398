"""Reason codes: the few indicators of a token that best explain a high score.

Cheap by design (a handful of comparisons on the event's own token), independent of the
model, so any model served through the registry gets the same vocabulary of reasons.
"""

from __future__ import annotations

import numpy as np

from models.features.tokens import CAT_INDEX, NUM_INDEX

MAX_REASONS = 3


def reasons_for(cat: np.ndarray, num: np.ndarray, limit: int = MAX_REASONS) -> list[str]:
    """Up to ``limit`` reason codes (schemas.features.REASON_CODES), strongest first."""
    found: list[tuple[float, str]] = []
    z = float(num[NUM_INDEX["amount_z"]]) * 5.0
    if z > 2.5:
        found.append((z / 2.5, "amount_far_above_usual"))
    if max(cat[CAT_INDEX["travel_bucket"]], cat[CAT_INDEX["physical_travel_bucket"]]) >= 5:
        found.append((2.5, "impossible_travel"))
    if cat[CAT_INDEX["new_payee"]] == 2:
        found.append((1.4, "new_payee"))
    if cat[CAT_INDEX["new_country"]] == 2:
        found.append((1.3, "new_country"))
    if cat[CAT_INDEX["new_device"]] == 2:
        found.append((1.2, "new_device"))
    failed = int(cat[CAT_INDEX["failed_login_bucket"]])
    if failed >= 3:
        found.append((0.6 * failed, "failed_logins"))
    velocity = int(cat[CAT_INDEX["velocity_bucket"]])
    if velocity >= 4:
        found.append((0.4 * velocity, "high_velocity"))
    risk = int(cat[CAT_INDEX["merchant_risk_bucket"]])
    if risk >= 3:
        found.append((0.6 * risk, "risky_merchant"))
    if cat[CAT_INDEX["new_merchant"]] == 2:
        found.append((0.5, "new_merchant"))
    if num[NUM_INDEX["foreign"]] > 0:
        found.append((0.4, "foreign_country"))
    found.sort(key=lambda item: -item[0])
    return [code for _, code in found[:limit]]
