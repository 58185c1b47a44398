"""The APP scam (authorised push payment): a late scenario, present only with a ``Drift``.

A scammer on the phone talks the customer into paying a "safe account": the customer logs
in on their own phone from their own network (a genuine login, not fraud), then sends one
to three transfers, a few times their usual size, to a payee they never paid (often one
of a few recurring scam accounts, often abroad). Nothing in the session is new but the
payee and the amount: unlike an account takeover there is no new device, no hosting
network, no failed logins. Genuine look-alikes: new payees, the occasional big transfer.
"""

from __future__ import annotations

import numpy as np

from pipeline.simulator import catalog
from pipeline.simulator.batch import KIND_TRANSACTION, NOT_FRAUD, EventBatch
from pipeline.simulator.config import Scenario
from pipeline.simulator.fraudsters import (
    Address,
    DayContext,
    FraudRows,
    FraudScenario,
    Fraudsters,
)
from pipeline.simulator.population import SESSION_TRANSFER
from pipeline.simulator.state import US_PER_MINUTE

#: share of scam transfers that go to one of the recurring scam accounts
RECURRING_PAYEE_SHARE = 0.6
#: share of scam transfers sent abroad
ABROAD_SHARE = 0.6


class AppScam(FraudScenario):
    scenario = Scenario.APP_SCAM

    def __init__(self, fraudsters: Fraudsters) -> None:
        super().__init__(fraudsters)
        self._payees: np.ndarray | None = None  # drawn at the first incident

    def _scam_payees(self) -> np.ndarray:
        if self._payees is None:
            self._payees = self.f.state.new_payees(max(20, len(self.pop.accounts) // 250))
        return self._payees

    def incident(self, ctx: DayContext, rows: FraudRows) -> bool:
        f, rng, acc, state = self.f, ctx.rng, self.pop.accounts, self.f.state
        account = acc.online_activity.one(rng)
        home = int(acc.home_country[account])
        known = max(1, int((state.devices[account] >= 0).sum()))
        slot = int(rng.integers(0, known))
        device = (int(state.devices[account, slot]), int(state.device_agent[account, slot]))
        addr = Address(int(acc.home_ip[account]), int(acc.home_asn[account]),
                       int(acc.home_city[account]))  # fmt: skip
        delay = f.label_delay(rng)
        t = f.local_time(ctx, account, 9, 21)
        auth = catalog.AUTH_BIOMETRIC if device[1] < 6 else catalog.AUTH_PASSWORD
        f.login(rows, account, t, device, addr, success=True, auth_method=auth, label_delay=delay)
        rows.rows[-1]["scenario"] = NOT_FRAUD  # the customer's own login is genuine
        currency = int(acc.currency[account])
        payees = self._scam_payees()
        payee = (
            int(rng.choice(payees))
            if rng.random() < RECURRING_PAYEE_SHARE
            else int(state.new_payees(1)[0])
        )
        country = (
            int(rng.integers(0, len(catalog.COUNTRIES))) if rng.random() < ABROAD_SHARE else home
        )
        for _ in range(int(rng.integers(1, 4))):
            t += int(rng.uniform(2, 20) * US_PER_MINUTE)
            eur = float(np.exp(acc.transfer_mu[account] + 0.5 * rng.standard_normal()))
            eur *= rng.uniform(2.0, 8.0)
            amount = f.money(eur, currency)
            if rng.random() < 0.5:
                amount = max(10.0, round(amount, -1))
            rows.add(
                kind=KIND_TRANSACTION,
                ts=t,
                account=account,
                amount=amount,
                currency=currency,
                merchant=f.shops.transfer,
                channel=SESSION_TRANSFER,
                category=catalog.TRANSFER_CATEGORY,
                country=country,
                payee=payee,
                device=device[0],
                ip=addr.ip,
                label_delay=delay,
            )
        return True

    def generate(self, ctx: DayContext, budget: int) -> EventBatch:
        """Incidents until ``budget`` fraud rows (the genuine logins come on top)."""
        rows = FraudRows(self.scenario)
        frauds = 0
        while frauds < budget:
            before = len(rows)
            self.incident(ctx, rows)
            frauds += sum(r["scenario"] != NOT_FRAUD for r in rows.rows[before:])
        keep = len(rows)
        while frauds > budget:  # cut the last incident short, as the base class does
            keep -= 1
            frauds -= rows.rows[keep]["scenario"] != NOT_FRAUD
        return rows.to_batch(keep)
