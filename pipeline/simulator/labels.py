"""Late labels: chargebacks and fraud claims on fraud, review verdicts on genuine events.

Every fraudulent event gets a fraud label after its incident's delay (one draw per
incident, so a victim's claims arrive together): card payments through the card scheme's
chargeback, transfers and logins through the customer's fraud claim (push payments and
logins have no chargeback). A share of genuine events gets a genuine label; analysts review
unusual activity, so genuine-but-unusual events (trips, new phones, big purchases) are
labelled ten times more often than ordinary ones: they are the false positives worth learning.
"""

from __future__ import annotations

import numpy as np

from pipeline.simulator.batch import (
    KIND_LOGIN,
    LABEL_FRAUD,
    LABEL_GENUINE,
    NOT_FRAUD,
    SOURCE_ANALYST,
    SOURCE_CHARGEBACK,
    SOURCE_CUSTOMER,
    EventBatch,
    FeedbackBatch,
)
from pipeline.simulator.population import SESSION_ECOM, SESSION_TRANSFER
from pipeline.simulator.state import US_PER_DAY

NOTES: tuple[str, ...] = (
    "chargeback 10.4: fraud, card absent",
    "chargeback 10.3: fraud, card present",
    "customer reported an unauthorised transfer",
    "customer reported an unauthorised login",
    "analyst review: legitimate",
    "customer confirmed the activity",
)
NOTE_CARD_ABSENT, NOTE_CARD_PRESENT, NOTE_TRANSFER, NOTE_LOGIN, NOTE_REVIEWED, NOTE_CONFIRMED = (
    range(len(NOTES))
)
ANALYSTS = 12
#: how much likelier an unusual genuine event is to be reviewed than an ordinary one
REVIEW_BIAS = 10.0


def fraud_feedback(events: EventBatch) -> FeedbackBatch:
    """One fraud label per fraudulent event, ``label_delay`` after it."""
    fraud = events.take(events["scenario"] != NOT_FRAUD)
    login = fraud["kind"] == KIND_LOGIN
    transfer = ~login & (fraud["channel"] == SESSION_TRANSFER)
    card_absent = ~login & (fraud["channel"] == SESSION_ECOM)
    source = np.where(login | transfer, SOURCE_CUSTOMER, SOURCE_CHARGEBACK)
    note = np.select(
        [login, transfer, card_absent],
        [NOTE_LOGIN, NOTE_TRANSFER, NOTE_CARD_ABSENT],
        NOTE_CARD_PRESENT,
    )
    return FeedbackBatch.build(
        len(fraud),
        ts=fraud["ts"] + fraud["label_delay"],
        event_kind=fraud["kind"],
        event_seq=fraud["seq"],
        account=fraud["account"],
        merchant=fraud["merchant"],
        label=LABEL_FRAUD,
        source=source,
        note=note,
        scenario=fraud["scenario"],
    )


def genuine_feedback(
    events: EventBatch,
    rate: float,
    delay_days: tuple[float, float],
    rng: np.random.Generator,
) -> FeedbackBatch:
    """Genuine labels on about ``rate`` of the genuine events, favouring unusual ones."""
    genuine = events.take(events["scenario"] == NOT_FRAUD)
    n = len(genuine)
    if n == 0 or rate <= 0:
        return FeedbackBatch.empty()
    noisy = genuine["noisy"]
    n_noisy = int(noisy.sum())
    p_noisy = min(1.0, REVIEW_BIAS * rate)
    p_plain = max(0.0, (rate * n - p_noisy * n_noisy) / max(1, n - n_noisy))
    picked = genuine.take(rng.random(n) < np.where(noisy, p_noisy, p_plain))
    m = len(picked)
    analyst = rng.random(m) < 0.6
    delay = (rng.uniform(delay_days[0], delay_days[1], m) * US_PER_DAY).astype(np.int64)
    return FeedbackBatch.build(
        m,
        ts=picked["ts"] + delay,
        event_kind=picked["kind"],
        event_seq=picked["seq"],
        account=picked["account"],
        merchant=picked["merchant"],
        label=LABEL_GENUINE,
        source=np.where(analyst, SOURCE_ANALYST, SOURCE_CUSTOMER),
        analyst=np.where(analyst, rng.integers(1, ANALYSTS + 1, m), -1),
        note=np.where(analyst, NOTE_REVIEWED, NOTE_CONFIRMED),
    )
