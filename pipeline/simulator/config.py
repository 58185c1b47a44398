"""Configuration of the simulator: dataclasses with defaults that produce a realistic bank."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from pipeline.simulator.catalog import CATEGORIES, CATEGORY_INDEX
from pipeline.simulator.exceptions import SimulatorConfigError


class Scenario(StrEnum):
    """Fraud scenarios: ground truth, never in an event record (a fraud label names it as
    its ``fraud_type``, as a chargeback's reason code would)."""

    CARD_TESTING = "card_testing"
    ACCOUNT_TAKEOVER = "account_takeover"
    COMPROMISED_MERCHANT = "compromised_merchant"
    STOLEN_CARD = "stolen_card"
    IMPOSSIBLE_TRAVEL = "impossible_travel"
    #: authorised push payment scam: the customer, talked into it, pays a scammer
    #: (appears only with a :class:`Drift`; never in the default mix)
    APP_SCAM = "app_scam"


#: enough shops for every city of the catalog to have a few shops and a cash machine
MIN_MERCHANTS = 300
#: how long the simulator's Kafka producer waits to fill a record batch (milliseconds)
KAFKA_LINGER_MS = 20

#: scenario code -> its small integer code in the generated columns
SCENARIO_CODES: dict[Scenario, int] = {s: i for i, s in enumerate(Scenario)}

#: scenarios that exist only from a :class:`Drift`'s start (none in the default stream)
LATE_SCENARIOS: frozenset[Scenario] = frozenset({Scenario.APP_SCAM})

DEFAULT_SCENARIO_MIX: dict[Scenario, float] = {
    Scenario.CARD_TESTING: 0.25,
    Scenario.ACCOUNT_TAKEOVER: 0.20,
    Scenario.COMPROMISED_MERCHANT: 0.20,
    Scenario.STOLEN_CARD: 0.20,
    Scenario.IMPOSSIBLE_TRAVEL: 0.15,
}


@dataclass(frozen=True)
class BehaviourConfig:
    """Genuine customer behaviour, including the noise that makes fraud hard to separate."""

    #: share of online (ecom) card payments made card-on-file, without a bank login
    card_on_file_rate: float = 0.08
    #: chance that a login is preceded by genuine failed attempts (typos)
    failed_login_rate: float = 0.04
    #: chance that an online session comes from a device the account never used
    new_device_rate: float = 0.012
    #: chance per account and day to start a trip (domestic or abroad)
    trip_start_rate: float = 0.008
    #: share of trips that go abroad
    trip_abroad_share: float = 0.6
    #: chance that a card payment is an occasional large purchase (x5-x25 the usual)
    large_purchase_rate: float = 0.004
    #: share of transfers that go to a payee the account never paid
    new_payee_rate: float = 0.08
    #: share of accounts that routinely log in through a VPN / hosting provider
    vpn_account_share: float = 0.02
    #: share of point-of-sale payments at one of the account's usual merchants
    usual_merchant_share: float = 0.85
    #: share of online payments at one of the account's usual online shops
    usual_online_share: float = 0.8


@dataclass(frozen=True)
class Drift:
    """The world changes from day ``start_day`` on (a property of the world, not of a model).

    - Genuine behaviour shifts, each off at a share of 0:

      * a privacy relay (or VPN) becomes popular: ``relay_adopters`` of the customers send
        ``relay_share`` of their online sessions through a hosting provider's network, as
        mostly fraudsters (bots, proxies) did before;
      * a merchant category catches on: ``adopters`` of the customers make
        ``adoption_share`` of their online payments in ``category`` (say crypto exchanges:
        high risk, big amounts).
    - A new fraud scenario (``new_scenario``, by default the APP scam) takes
      ``new_scenario_share`` of each day's fraud budget; the other scenarios share the rest
      in their usual mix.
    """

    start_day: int
    relay_adopters: float = 0.2
    relay_share: float = 0.8
    category: str = "crypto_exchange"
    adopters: float = 0.0
    adoption_share: float = 0.4
    new_scenario: Scenario = Scenario.APP_SCAM
    new_scenario_share: float = 0.25

    def __post_init__(self) -> None:
        checks = [
            (self.start_day >= 0, "Drift.start_day must be 0 or more"),
            (
                self.category in CATEGORY_INDEX
                and CATEGORIES[CATEGORY_INDEX[self.category]].kind in ("online", "both"),
                f"Drift.category {self.category!r} is not an online merchant category",
            ),
            (0.0 <= self.adopters <= 1.0, "Drift.adopters must be within [0, 1]"),
            (0.0 <= self.relay_adopters <= 1.0, "Drift.relay_adopters must be within [0, 1]"),
            (0.0 <= self.relay_share <= 1.0, "Drift.relay_share must be within [0, 1]"),
            (0.0 <= self.adoption_share <= 1.0, "Drift.adoption_share must be within [0, 1]"),
            (0.0 <= self.new_scenario_share <= 1.0, "Drift.new_scenario_share must be in [0, 1]"),
            (self.new_scenario in LATE_SCENARIOS, "Drift.new_scenario must be a late scenario"),
        ]
        for ok, message in checks:
            if not ok:
                raise SimulatorConfigError(message)


@dataclass(frozen=True)
class SimulatorConfig:
    """Everything that determines a simulated stream: same config, same bytes."""

    events: int = 100_000
    accounts: int = 5_000
    merchants: int = 1_000
    days: int = 30
    #: first simulated day (UTC midnight); None: far enough in the past for every label
    start: date | None = None
    seed: int = 7
    #: share of the transaction + login events that are fraudulent
    fraud_rate: float = 0.007
    scenario_mix: dict[Scenario, float] = field(default_factory=lambda: dict(DEFAULT_SCENARIO_MIX))
    #: chargeback / fraud-claim delay after the fraudulent event, in days (min, max)
    label_delay_days: tuple[float, float] = (2.0, 30.0)
    #: share of genuine events that later get a genuine label (analyst or customer)
    genuine_label_rate: float = 0.01
    genuine_label_delay_days: tuple[float, float] = (0.02, 5.0)
    #: extra malformed messages per valid event (Kafka only)
    malformed_rate: float = 0.0
    #: labels that would arrive after this instant have not arrived yet and are withheld
    not_after: datetime | None = None
    behaviour: BehaviourConfig = field(default_factory=BehaviourConfig)
    #: a change of the world from some day on (None: the world stays as it is)
    drift: Drift | None = None

    def __post_init__(self) -> None:
        checks = [
            (self.events >= 1, "--events must be at least 1"),
            (self.accounts >= 10, "--accounts must be at least 10"),
            (self.merchants >= MIN_MERCHANTS, f"--merchants must be at least {MIN_MERCHANTS}"),
            (self.days >= 1, "--days must be at least 1"),
            (0.0 <= self.fraud_rate <= 0.5, "--fraud-rate must be within [0, 0.5]"),
            (0.0 <= self.genuine_label_rate <= 1.0, "--genuine-label-rate must be within [0, 1]"),
            (0.0 <= self.malformed_rate <= 1.0, "--malformed-rate must be within [0, 1]"),
            (
                0.0 <= self.label_delay_days[0] <= self.label_delay_days[1],
                "--label-delay-days needs 0 <= MIN <= MAX",
            ),
            (
                0.0 <= self.genuine_label_delay_days[0] <= self.genuine_label_delay_days[1],
                "genuine_label_delay_days needs 0 <= MIN <= MAX",
            ),
            (
                set(self.scenario_mix) <= set(Scenario)
                and all(w >= 0 for w in self.scenario_mix.values())
                and sum(self.scenario_mix.values()) > 0,
                "scenario_mix needs non-negative weights of known scenarios, not all zero",
            ),
            (
                not set(self.scenario_mix) & LATE_SCENARIOS,
                "scenario_mix cannot hold a late scenario: it appears through a Drift",
            ),
            (
                self.drift is None or self.drift.start_day < self.days,
                "Drift.start_day must fall within the simulated days",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise SimulatorConfigError(message)

    def start_date(self, today: date | None = None) -> date:
        """The first day; by default old enough that every label has arrived by today."""
        if self.start is not None:
            return self.start
        today = today or datetime.now(UTC).date()
        return today - timedelta(days=self.days + math.ceil(self.label_delay_days[1]) + 1)

    def start_time(self) -> datetime:
        return datetime.combine(self.start_date(), datetime.min.time(), tzinfo=UTC)

    def end_time(self) -> datetime:
        return self.start_time() + timedelta(days=self.days)

    def check_in_past(self, now: datetime) -> None:
        """Refuse a simulated period that would put events in the future."""
        if self.end_time() > now:
            raise SimulatorConfigError(
                f"the simulated period ends {self.end_time():%Y-%m-%d %H:%M} UTC, after now; "
                "choose an earlier --start or fewer --days (records in the future are rejected)"
            )


def parse_delay_range(text: str) -> tuple[float, float]:
    """``"2-30"`` -> (2.0, 30.0); ``"7"`` -> (7.0, 7.0). Days, non-negative."""
    parts = text.replace(":", "-").replace(",", "-").split("-")
    try:
        values = [float(p) for p in parts if p.strip()]
    except ValueError as err:
        raise SimulatorConfigError(f"label delay {text!r} is not MIN-MAX in days") from err
    if len(values) == 1:
        values = values * 2
    if len(values) != 2 or not 0 <= values[0] <= values[1] or not all(map(math.isfinite, values)):
        raise SimulatorConfigError(f"label delay {text!r} is not MIN-MAX with 0 <= MIN <= MAX")
    return values[0], values[1]
