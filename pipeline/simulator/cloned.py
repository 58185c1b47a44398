"""Card-present cloning: skimmed at a compromised terminal, or shadowing a genuine payment."""

from __future__ import annotations

import numpy as np

from pipeline.simulator import catalog
from pipeline.simulator.batch import KIND_TRANSACTION, EventBatch
from pipeline.simulator.config import Scenario
from pipeline.simulator.fraudsters import DayContext, FraudRows, FraudScenario, Fraudsters
from pipeline.simulator.population import SESSION_ATM, SESSION_POS
from pipeline.simulator.state import US_PER_DAY, US_PER_HOUR, US_PER_MINUTE

#: card-present fraud is this far from the genuine payment, and faster than this speed
IMPOSSIBLE_MIN_KM, IMPOSSIBLE_MIN_KMH = 1_500.0, 1_200.0


def _cloned_card_spree(
    f: Fraudsters,
    ctx: DayContext,
    rows: FraudRows,
    account: int,
    card: int,
    t: int,
    city: int,
    n: int,
    delay: int,
) -> None:
    """Card-present payments with a cloned card in ``city``: shops and cash machines."""
    rng, shops = ctx.rng, f.pop.merchants
    usual_eur = float(np.exp(f.pop.accounts.amount_mu[account]))
    for _ in range(n):
        if rng.random() < 0.35:
            shop, eur = shops.atm_by_city[city].one(rng), float(rng.choice([200, 300, 400, 500]))
        else:
            shop = f.physical_shop(rng, city, risky=0.6)
            eur = max(usual_eur * rng.uniform(1.0, 8.0), rng.uniform(40, 300))
        f.shop_payment(rows, shop, eur, ts=t, account=account, card=card, label_delay=delay)
        t += int(rng.uniform(5, 40) * US_PER_MINUTE)


class CompromisedMerchant(FraudScenario):
    """Breaches open as the cash-out plan needs cards: demand-driven, so any scale works."""

    scenario = Scenario.COMPROMISED_MERCHANT
    skim_rate = 0.75
    #: fraudulent payments per skimmed card, on average (1 to 4)
    per_card = 2.5
    lookahead_days = 10
    #: skim more cards than the plan strictly needs: some are never due in time
    headroom = 1.5

    def __init__(self, fraudsters: Fraudsters, plan: np.ndarray, rng: np.random.Generator):
        super().__init__(fraudsters)
        self.plan = plan
        self.candidates = [int(m) for m in rng.permutation(self.pop.merchants.popular_physical)]
        self.breaches: list[tuple[int, int, int]] = []  # terminal, from, until (microseconds)
        # skimmed cards per open breach and day, learnt as the simulation goes
        self.skimmed, self.breach_days = 6.0, 2.0

    def _open_breaches(self, ctx: DayContext) -> None:
        rate = self.skimmed / self.breach_days
        coming = self.plan[ctx.index + 1 : ctx.index + 1 + self.lookahead_days]
        demand = self.headroom * float(coming.sum())
        open_days = sum(max(0, until - ctx.start) for _, _, until in self.breaches) / US_PER_DAY
        supply = self.per_card * (len(self.f.state.harvest.ready) + rate * open_days)
        while supply < demand and self.candidates:
            days = float(ctx.rng.uniform(3, 10))
            until = ctx.start + int(days * US_PER_DAY)
            self.breaches.append((self.candidates.pop(), ctx.start, until))
            supply += self.per_card * rate * days

    def observe(self, ctx: DayContext) -> None:
        self._open_breaches(ctx)
        g, harvest, rng = ctx.genuine, self.f.state.harvest, ctx.rng
        for terminal, since, until in self.breaches:
            if until <= ctx.start:
                continue
            hit = np.flatnonzero(
                (g["merchant"] == terminal)
                & (g["ts"] >= since)
                & (g["ts"] < until)
                & (g["card"] >= 0)
            )
            hit = hit[rng.random(len(hit)) < self.skim_rate]
            lag = (rng.uniform(1, self.lookahead_days, len(hit)) * US_PER_DAY).astype(np.int64)
            for row, wait in zip(hit.tolist(), lag.tolist(), strict=True):
                harvest.add(int(g["ts"][row]) + wait, int(g["card"][row]), int(g["account"][row]))
            self.skimmed += len(hit)
            self.breach_days += (min(until, ctx.end) - max(since, ctx.start)) / US_PER_DAY

    def incident(self, ctx: DayContext, rows: FraudRows) -> bool:
        f, rng, acc = self.f, ctx.rng, self.pop.accounts
        due = f.state.harvest.pop_before(ctx.end)
        if due is None:
            return False
        at, card, account = due
        t = max(at, ctx.start + int(rng.uniform(0, 22) * US_PER_HOUR))
        delay, n = f.label_delay(rng), int(rng.integers(1, 5))
        if rng.random() < 0.55:  # cloned card, card present, somewhere else
            home = int(acc.home_city[account])
            city = f.far_city(rng, float(acc.home_lat[account]), float(acc.home_lon[account]), 300)
            city = city if city != home else self.pop.world.cashout_cities.one(rng)
            _cloned_card_spree(f, ctx, rows, account, card, t, city, n, delay)
        else:  # card details used online
            device, addr = f.device(rng), f.address(rng, int(acc.home_country[account]))
            for _ in range(n):
                f.shop_payment(
                    rows,
                    f.high_risk_online.one(rng),
                    rng.lognormal(np.log(250), 0.7),
                    ts=t,
                    account=account,
                    card=card,
                    device=device[0],
                    ip=addr.ip,
                    label_delay=delay,
                )
                t += int(rng.uniform(2, 50) * US_PER_MINUTE)
        return True


class ImpossibleTravel(FraudScenario):
    scenario = Scenario.IMPOSSIBLE_TRAVEL

    def generate(self, ctx: DayContext, budget: int) -> EventBatch:
        g = ctx.genuine
        present = (g["kind"] == KIND_TRANSACTION) & (g["card"] >= 0)
        present &= (g["channel"] == SESSION_POS) | (g["channel"] == SESSION_ATM)
        self._candidates = list(ctx.rng.permutation(np.flatnonzero(present)).tolist())
        return super().generate(ctx, budget)

    def incident(self, ctx: DayContext, rows: FraudRows) -> bool:
        if not self._candidates:
            return False
        f, rng, g = self.f, ctx.rng, ctx.genuine
        row = self._candidates.pop()
        account, card, ts = int(g["account"][row]), int(g["card"][row]), int(g["ts"][row])
        lat, lon = float(g["lat"][row]), float(g["lon"][row])
        city = f.far_city(rng, lat, lon, IMPOSSIBLE_MIN_KM)
        km = float(
            catalog.haversine_km(lat, lon, f.pop.world.city_lat[city], f.pop.world.city_lon[city])
        )
        if km < IMPOSSIBLE_MIN_KM:
            return True  # nowhere far enough from here: try another payment
        longest = min(3 * US_PER_HOUR, int(km / IMPOSSIBLE_MIN_KMH * US_PER_HOUR))
        n = int(rng.integers(1, 4))
        offsets = np.sort(rng.uniform(10 * US_PER_MINUTE, longest, n)).astype(np.int64)
        sign = -1 if rng.random() < 0.5 and ts - longest >= ctx.start else 1
        times = (ts + sign * offsets)[::sign]  # in time order either way
        delay = f.label_delay(rng)
        for t in times.tolist():
            _cloned_card_spree(f, ctx, rows, account, card, int(t), city, 1, delay)
        return True
