"""What fraud scenarios share: the day's context, fraudsters' networks and a row builder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.simulator import catalog
from pipeline.simulator.batch import KIND_LOGIN, KIND_TRANSACTION, EventBatch
from pipeline.simulator.config import SCENARIO_CODES, Scenario
from pipeline.simulator.pools import Pool
from pipeline.simulator.population import (
    MERCHANT_ATM,
    MERCHANT_ONLINE,
    MERCHANT_PHYSICAL,
    SESSION_ATM,
    SESSION_ECOM,
    SESSION_POS,
    Population,
)
from pipeline.simulator.state import US_PER_DAY, US_PER_HOUR, SimState

#: user agents fraudsters show: mostly ordinary browsers and apps, sometimes tooling
FRAUD_AGENTS = Pool.of(
    np.arange(len(catalog.USER_AGENTS)),
    [4.0] * catalog.GENUINE_USER_AGENTS + [2.0] * (len(catalog.USER_AGENTS) - 10),
)


CHANNEL_OF_MERCHANT = {
    MERCHANT_PHYSICAL: SESSION_POS,
    MERCHANT_ONLINE: SESSION_ECOM,
    MERCHANT_ATM: SESSION_ATM,
}


@dataclass(frozen=True, eq=False)
class DayContext:
    """One simulated day as scenarios see it: its bounds and its genuine activity."""

    index: int
    start: int  # microseconds, UTC midnight
    end: int
    genuine: EventBatch
    rng: np.random.Generator


@dataclass(frozen=True, slots=True)
class Address:
    ip: int
    asn: int
    city: int


class FraudRows:
    """Accumulates fraudulent rows (a small share of the stream, so plain Python is fine)."""

    def __init__(self, scenario: Scenario) -> None:
        self.code = SCENARIO_CODES[scenario]
        self.rows: list[dict[str, Any]] = []

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, **fields: Any) -> None:
        fields["scenario"] = self.code
        self.rows.append(fields)

    def to_batch(self, limit: int) -> EventBatch:
        """The first ``limit`` rows: a last incident over the budget is cut short."""
        rows = self.rows[:limit]
        columns = {
            name: [row.get(name, default) for row in rows]
            for name, (_, default) in EventBatch.SPEC.items()
            if any(name in row for row in rows)
        }
        return EventBatch.build(len(rows), **columns)


class Fraudsters:
    """Helpers that draw what fraudsters use: devices, networks, places, shops, amounts."""

    def __init__(
        self,
        population: Population,
        state: SimState,
        label_delay_days: tuple[float, float],
    ) -> None:
        self.pop = population
        self.state = state
        self.delay_days = label_delay_days
        acc = population.accounts
        self.card_accounts = np.flatnonzero(acc.cards[:, 0] >= 0)
        shops = population.merchants
        self.high_risk_online = self._online_pool(
            [c.name for c in catalog.CATEGORIES if c.high_risk and c.kind != "physical"]
        )
        self.card_testing_online = self._online_pool(list(catalog.CARD_TESTING_CATEGORIES))
        self.high_risk_physical = [
            cat
            for cat, c in enumerate(catalog.CATEGORIES)
            if c.high_risk and c.kind in ("physical", "both")
        ]
        self.shops = shops

    def _online_pool(self, names: list[str]) -> Pool:
        shops = self.pop.merchants
        found = (shops.online_by_category.get(catalog.CATEGORY_INDEX[n]) for n in names)
        pools = [p for p in found if p is not None and len(p)] or [shops.online]
        items = np.concatenate([p.items for p in pools])
        weights = np.concatenate([np.diff(p.cum, prepend=0.0) for p in pools])
        return Pool.of(items, weights)

    # -- time ---------------------------------------------------------------------------

    def label_delay(self, rng: np.random.Generator) -> int:
        low, high = self.delay_days
        return int(rng.uniform(low, high) * US_PER_DAY)

    def local_time(self, ctx: DayContext, account: int, low: float, high: float) -> int:
        """An instant of the day at a local hour in [low, high) of the account's home."""
        hour = ctx.rng.uniform(low, high) - self.pop.accounts.utc_offset[account]
        return ctx.start + int((hour % 24) * US_PER_HOUR)

    # -- identity and network --------------------------------------------------------------

    def device(self, rng: np.random.Generator) -> tuple[int, int]:
        """A device no customer ever used, and the user agent it shows."""
        return int(self.state.new_devices(1)[0]), FRAUD_AGENTS.one(rng)

    def address(self, rng: np.random.Generator, home_country: int) -> Address:
        """A hosting provider (bots, proxies) or a residential line in a cash-out country."""
        world = self.pop.world
        host = int(rng.integers(1, 65_535))
        if rng.random() < 0.6:
            h = int(rng.integers(0, len(world.hosting_asn)))
            return Address(
                int(world.hosting_prefix[h] | host),
                int(world.hosting_asn[h]),
                int(world.hosting_city[h]),
            )
        city = world.cashout_cities.one(rng)
        country = int(world.city_country[city])
        if country == home_country:
            city = world.cashout_cities.one(rng)
            country = int(world.city_country[city])
        isp = int(rng.integers(0, 2))
        return Address(
            int(world.isp_prefix[country, isp] | host), int(world.isp_asn[country, isp]), city
        )

    def login(
        self, rows: FraudRows, account: int, ts: int, device: tuple[int, int], addr: Address, **kw
    ) -> None:
        world = self.pop.world
        rows.add(
            kind=KIND_LOGIN,
            ts=ts,
            account=account,
            device=device[0],
            user_agent=device[1],
            ip=addr.ip,
            asn=addr.asn,
            country=int(world.city_country[addr.city]),
            lat=float(world.city_lat[addr.city]),
            lon=float(world.city_lon[addr.city]),
            **kw,
        )

    # -- places, shops, money --------------------------------------------------------------

    def far_city(self, rng: np.random.Generator, lat: float, lon: float, min_km: float) -> int:
        """A cash-out city at least ``min_km`` away from (lat, lon)."""
        world = self.pop.world
        dist = catalog.haversine_km(lat, lon, world.city_lat, world.city_lon)
        weights = np.diff(world.cashout_cities.cum, prepend=0.0) * (dist >= min_km)
        if weights.sum() <= 0:
            weights = dist
        return Pool.of(np.arange(len(dist)), weights).one(rng)

    def physical_shop(self, rng: np.random.Generator, city: int, risky: float) -> int:
        """A shop in ``city``, of a category fraudsters like with probability ``risky``."""
        shops = self.pop.merchants
        if rng.random() < risky:
            cat = self.high_risk_physical[int(rng.integers(0, len(self.high_risk_physical)))]
            pool = shops.physical_by_city_category.get((city, cat))
            if pool is not None:
                return pool.one(rng)
        return shops.physical_by_city[city].one(rng)

    def card(self, rng: np.random.Generator, account: int) -> int:
        cards = self.pop.accounts.cards[account]
        return int(cards[1] if cards[1] >= 0 and rng.random() < 0.3 else cards[0])

    def money(self, eur: float, currency: int) -> float:
        return float(catalog.money(np.array([eur]), np.array([currency]))[0])

    def atm_money(self, eur: float, currency: int) -> float:
        step = 10.0 ** np.floor(np.log10(catalog.UNITS[currency] * 20.0))
        return float(max(step, round(eur * catalog.UNITS[currency] / step) * step))

    def shop_payment(self, rows: FraudRows, merchant: int, amount_eur: float, **kw) -> None:
        """A card payment at ``merchant`` (its channel, place and currency) of ``amount_eur``."""
        shops = self.pop.merchants
        kind = int(shops.kind[merchant])
        currency = int(shops.currency[merchant])
        atm = kind == MERCHANT_ATM
        rows.add(
            kind=KIND_TRANSACTION,
            merchant=merchant,
            category=int(shops.category[merchant]),
            channel=CHANNEL_OF_MERCHANT[kind],
            currency=currency,
            amount=self.atm_money(amount_eur, currency)
            if atm
            else self.money(amount_eur, currency),
            country=int(shops.country[merchant]),
            lat=float(shops.lat[merchant]),
            lon=float(shops.lon[merchant]),
            **kw,
        )


class FraudScenario:
    """Base: ``generate`` runs incidents until the day's budget is spent."""

    scenario: Scenario

    def __init__(self, fraudsters: Fraudsters) -> None:
        self.f = fraudsters
        self.pop = fraudsters.pop

    def observe(self, ctx: DayContext) -> None:
        """Look at the day's genuine activity before generating (default: nothing)."""

    def incident(self, ctx: DayContext, rows: FraudRows) -> bool:
        """Append one incident's rows in time order; False when none is possible today."""
        raise NotImplementedError

    def generate(self, ctx: DayContext, budget: int) -> EventBatch:
        rows = FraudRows(self.scenario)
        while len(rows) < budget:
            if not self.incident(ctx, rows):
                break
        return rows.to_batch(budget)
