"""Options of the simulated analyst team: size, capacity, accuracy and delays."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.analysts.exceptions import AnalystsConfigError


@dataclass(frozen=True)
class AnalystsConfig:
    """Defaults suit a live demo: verdicts within seconds, chargebacks within a minute."""

    #: analysts in the team (analyst-001 ... analyst-NNN)
    analysts: int = 4
    #: alerts each analyst reviews per day (event day); the rest stay unreviewed
    capacity: int = 250
    #: share of verdicts that get the truth wrong
    error_rate: float = 0.02
    #: wall seconds from an alert to its verdict, drawn per alert in [min, max]
    review_delay_s: tuple[float, float] = (2.0, 10.0)
    #: wall seconds from an allowed fraud's score to its chargeback or fraud claim
    chargeback_delay_s: float = 60.0
    #: how long an alert or allowed score waits for its event's ground truth, wall seconds
    truth_timeout_s: float = 120.0
    #: events whose ground truth is remembered (the most recent)
    max_truth: int = 1_000_000
    #: allowed scores waiting for their event's ground truth (the oldest are dropped)
    max_waiting: int = 100_000
    #: seeds the per-alert draws (delay, mistakes): the same alerts get the same verdicts
    seed: int = 0
    group_id: str = "fraudstream-analysts"
    #: where a new consumer group starts: latest answers only the alerts from now on
    auto_offset_reset: str = "latest"
    poll_timeout_ms: int = 200
    client_id: str = "fraudstream-analysts"

    def __post_init__(self) -> None:
        if self.analysts < 1:
            raise AnalystsConfigError(f"--analysts must be at least 1, got {self.analysts}")
        if self.capacity < 0:
            raise AnalystsConfigError(f"--capacity must be 0 or more, got {self.capacity}")
        if not 0.0 <= self.error_rate <= 1.0:
            raise AnalystsConfigError(f"--error-rate {self.error_rate} is outside [0, 1]")
        low, high = self.review_delay_s
        if not 0.0 <= low <= high:
            raise AnalystsConfigError(
                f"--review-delay {low:g}-{high:g}: give MIN-MAX seconds with 0 <= MIN <= MAX"
            )
        if self.chargeback_delay_s < 0 or self.truth_timeout_s < 0:
            raise AnalystsConfigError("delays and timeouts must be 0 or more seconds")
        if self.auto_offset_reset not in ("earliest", "latest"):
            raise AnalystsConfigError(
                f"start position {self.auto_offset_reset!r} must be 'earliest' or 'latest'"
            )
