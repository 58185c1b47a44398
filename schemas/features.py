"""The model's input features, defined once.

Each scored event becomes one *token*: a vector of small categorical codes (embedded by the
transformer, used as numbers by the tree baselines) and a vector of continuous values. A
model reads the account's last ``K`` tokens. Every code is computed by fixed rules (no
vocabulary fitted on one data set), so a model trained on one event log can score another.

The ONNX manifest's input spec, the feature-set hash and the reason codes all come from here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

#: version of the feature rules; bump when the meaning of a feature changes
FEATURE_SET_VERSION = 2

#: categorical fields: name -> number of codes (code 0 is always "padding / not available")
CATEGORICAL: dict[str, int] = {
    "event_kind": 4,  # 1 transaction, 2 successful login, 3 failed login
    "channel": 5,  # 1 pos, 2 ecom, 3 atm, 4 transfer
    "category": 32,  # stable hash of the merchant category
    "amount_bucket": 16,  # log-scale amount
    "hour": 25,  # 1 + UTC hour of day
    "gap_bucket": 16,  # time since the account's previous event, log scale
    "new_device": 3,  # 1 known, 2 new (for the account)
    "new_country": 3,  # 1 home or seen, 2 new
    "new_merchant": 3,  # 1 seen, 2 new
    "new_payee": 3,  # 1 seen, 2 new
    "amount_ratio_bucket": 10,  # amount / the account's usual amount
    "merchant_risk_bucket": 6,  # merchant's confirmed-fraud rate (delayed labels)
    "velocity_bucket": 8,  # account events in the last hour
    "failed_login_bucket": 6,  # failed logins in the last hour
    "travel_bucket": 7,  # implied speed from the last located event
    # implied speed from the last card-present payment: a terminal's location, which no
    # VPN or relay moves (an IP's location may be a data centre far from the customer)
    "physical_travel_bucket": 7,
}

#: continuous fields (float32), already scaled to roughly unit range
CONTINUOUS: tuple[str, ...] = (
    "log_amount",
    "amount_z",  # log-amount z-score against the account's history
    "log_gap",  # log1p(seconds since previous event) / 10
    "tx_1h",  # decayed transaction counts (log1p)
    "tx_24h",
    "tx_7d",
    "tx_30d",
    "amount_24h",  # decayed amounts (log1p)
    "amount_30d",
    "distinct_merchants",  # log1p of recently seen distinct values
    "distinct_devices",
    "distinct_countries",
    "log_since_login",  # log1p(seconds since last successful login) / 10
    "failed_logins_1h",  # decayed count (log1p)
    "log_speed_kmh",  # log1p(implied speed since last located event) / 10
    "foreign",  # 1 if the event's country differs from the account's home
    "merchant_fraud_rate",  # smoothed confirmed-fraud rate of the merchant
    "merchant_labels",  # log1p(labels known for the merchant)
    "merchant_tx_1h",  # decayed merchant transaction counts (log1p)
    "merchant_tx_24h",
    "account_age_days",  # log1p(days since first event seen)
    "log_physical_speed_kmh",  # log1p(implied speed since last card-present payment) / 10
)

#: default number of events (tokens) a model reads per account
DEFAULT_WINDOW = 32

#: reason codes a decision may carry, each tied to the indicator that triggers it
REASON_CODES: tuple[str, ...] = (
    "amount_far_above_usual",
    "new_device",
    "new_country",
    "new_merchant",
    "new_payee",
    "high_velocity",
    "failed_logins",
    "impossible_travel",
    "risky_merchant",
    "foreign_country",
)


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """The input contract between the encoder and a model."""

    window: int = DEFAULT_WINDOW
    version: int = FEATURE_SET_VERSION

    @property
    def categorical(self) -> dict[str, int]:
        return CATEGORICAL

    @property
    def continuous(self) -> tuple[str, ...]:
        return CONTINUOUS

    def to_dict(self) -> dict[str, object]:
        return {
            "version": self.version,
            "window": self.window,
            "categorical": dict(CATEGORICAL),
            "continuous": list(CONTINUOUS),
        }

    def hash(self) -> str:
        """sha256 of the feature definitions (window excluded: any K reads the same tokens)."""
        body = self.to_dict()
        body.pop("window")
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
