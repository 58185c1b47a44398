"""What changes while the simulation runs: known devices, id counters, trips, stolen cards."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np

from pipeline.simulator.population import MAX_DEVICES, Population

US_PER_SECOND = 1_000_000
US_PER_MINUTE = 60 * US_PER_SECOND
US_PER_HOUR = 60 * US_PER_MINUTE
US_PER_DAY = 24 * US_PER_HOUR


@dataclass(eq=False)
class Trips:
    """At most one trip per account: where, and the four instants of the two journeys."""

    city: np.ndarray
    depart: np.ndarray
    arrive: np.ndarray
    return_depart: np.ndarray
    return_arrive: np.ndarray

    @classmethod
    def none(cls, n: int) -> Trips:
        never = np.full(n, -1, dtype=np.int64)
        return cls(np.full(n, -1, dtype=np.int16), never, never.copy(), never.copy(), never.copy())


@dataclass(eq=False)
class Harvest:
    """Cards skimmed at compromised terminals, waiting to be cashed out."""

    #: heap of (earliest cash-out in microseconds, card, account)
    ready: list[tuple[int, int, int]] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)

    def add(self, cashout_at: int, card: int, account: int) -> None:
        if card not in self.seen:
            self.seen.add(card)
            heapq.heappush(self.ready, (cashout_at, card, account))

    def pop_before(self, ts: int) -> tuple[int, int, int] | None:
        """The card whose cash-out is due first, if it is due before ``ts``."""
        if self.ready and self.ready[0][0] < ts:
            return heapq.heappop(self.ready)
        return None


@dataclass(eq=False)
class SimState:
    devices: np.ndarray
    device_agent: np.ndarray
    next_device: int
    next_payee: int
    trips: Trips
    harvest: Harvest

    @classmethod
    def start(cls, population: Population) -> SimState:
        accounts = population.accounts
        return cls(
            devices=accounts.devices.copy(),
            device_agent=accounts.device_agent.copy(),
            next_device=population.next_device,
            next_payee=population.next_payee,
            trips=Trips.none(len(accounts)),
            harvest=Harvest(),
        )

    def new_devices(self, n: int) -> np.ndarray:
        out = np.arange(self.next_device, self.next_device + n, dtype=np.int64)
        self.next_device += n
        return out

    def new_payees(self, n: int) -> np.ndarray:
        out = np.arange(self.next_payee, self.next_payee + n, dtype=np.int64)
        self.next_payee += n
        return out

    def adopt_devices(self, account: np.ndarray, device: np.ndarray, agent: np.ndarray) -> None:
        """Genuine new devices become usual ones (a new phone); the oldest extra one goes."""
        for a, d, g in zip(account.tolist(), device.tolist(), agent.tolist(), strict=True):
            known = int((self.devices[a] >= 0).sum())
            slot = known if known < MAX_DEVICES else MAX_DEVICES - 1
            self.devices[a, slot] = d
            self.device_agent[a, slot] = g
