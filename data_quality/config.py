"""What the data gate tolerates: one dataclass, defaults that suit a fraud team."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from data_quality.exceptions import GateConfigError
from schemas import TimeBounds


@dataclass(frozen=True)
class GateConfig:
    """Every threshold of the gate. Shares and rates are fractions in [0, 1]."""

    # ---- volume and time -------------------------------------------------------------
    #: timestamps outside [earliest, now + max_future] fail (the decoder's own bounds)
    time_bounds: TimeBounds = field(default_factory=TimeBounds)
    #: the gate's "now"; None: the wall clock when the gate starts
    now: datetime | None = None
    min_events: int = 1
    min_labels: int = 1

    # ---- labels ----------------------------------------------------------------------
    #: share of labelled events allowed to carry both a fraud and a genuine label: analysts
    #: err, and a chargeback then contradicts their verdict (0.2-0.3 % of the labelled
    #: events in the demo's live loop with a 2 % analyst error rate)
    max_conflicting_label_share: float = 0.01

    # ---- label rates against the reference window ------------------------------------
    #: a rate may move this far from the reference, relative (0.5: within x0.5 .. x1.5)
    rate_tolerance: float = 0.5
    #: ... widened to this many binomial standard errors when the batch is small
    rate_sigma: float = 4.0

    # ---- analyst guard (no reference needed: each analyst against the team median)
    #: no analyst may hold more than this share of the analyst labels ...
    max_analyst_label_share: float = 0.3
    #: ... unless the team is small: the limit is at least this multiple of a fair share
    analyst_fair_share_multiple: float = 2.0
    #: analysts with fewer labels are not rate-tested (nor count towards the team median)
    min_analyst_labels: int = 30
    #: an analyst's fraud rate may deviate this many standard errors from the team's
    analyst_sigma: float = 4.0
    #: the disagreement-share test needs at least this many fraud->genuine disagreements
    min_disagreements: int = 10
    #: no analyst may cause more than this share of the fraud->genuine disagreements
    max_analyst_disagreement_share: float = 0.5

    # ---- drift against the reference window ------------------------------------------
    #: numeric fields compared by binned KL divergence and quantiles; None: the decimal
    #: (amount) fields of the records
    numeric_drift_fields: tuple[str, ...] | None = None
    #: categorical fields compared by KL divergence; None: the enum and code fields of the
    #: records (event type, channel, currency, country)
    categorical_drift_fields: tuple[str, ...] | None = None
    drift_bins: int = 10
    max_numeric_kl: float = 0.1
    max_categorical_kl: float = 0.1
    #: probability mass set aside for values the reference never saw (outside its range,
    #: or a new category); smaller is stricter
    kl_tail_weight: float = 0.001
    drift_quantiles: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
    #: each quantile may move this far from the reference quantile, relative
    quantile_tolerance: float = 0.25

    # ---- report ----------------------------------------------------------------------
    #: unexpected values kept per failed expectation in the summary
    examples: int = 5
    #: render GX Data Docs (HTML); off only where the HTML is not wanted
    data_docs: bool = True

    def __post_init__(self) -> None:
        shares = {
            "max_conflicting_label_share": self.max_conflicting_label_share,
            "max_analyst_label_share": self.max_analyst_label_share,
            "max_analyst_disagreement_share": self.max_analyst_disagreement_share,
            "kl_tail_weight": self.kl_tail_weight,
        }
        for name, value in shares.items():
            if not 0.0 <= value <= 1.0:
                raise GateConfigError(f"GateConfig.{name} must be within [0, 1], got {value}")
        positive = {
            "rate_tolerance": self.rate_tolerance,
            "rate_sigma": self.rate_sigma,
            "analyst_fair_share_multiple": self.analyst_fair_share_multiple,
            "analyst_sigma": self.analyst_sigma,
            "max_numeric_kl": self.max_numeric_kl,
            "max_categorical_kl": self.max_categorical_kl,
            "quantile_tolerance": self.quantile_tolerance,
        }
        for name, value in positive.items():
            if not value >= 0.0 or math.isnan(value):
                raise GateConfigError(f"GateConfig.{name} must be >= 0, got {value}")
        counts = {
            "min_events": self.min_events,
            "min_labels": self.min_labels,
            "min_analyst_labels": self.min_analyst_labels,
            "min_disagreements": self.min_disagreements,
            "examples": self.examples,
        }
        for name, count in counts.items():
            if count < 0:
                raise GateConfigError(f"GateConfig.{name} must be >= 0, got {count}")
        if self.drift_bins < 2:
            raise GateConfigError(f"GateConfig.drift_bins must be >= 2, got {self.drift_bins}")
        if not all(0.0 <= q <= 1.0 for q in self.drift_quantiles):
            raise GateConfigError(
                f"GateConfig.drift_quantiles must lie within [0, 1], got {self.drift_quantiles}"
            )
