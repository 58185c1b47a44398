"""The fraud scenarios: each turns a daily budget of events into fraud incidents.

Card-present cloning (compromised_merchant, impossible_travel) lives in ``cloned.py``.

What separates fraud from the genuine noise is a combination, never one field:

- card_testing: bursts of tiny card-not-present payments at shops the card never used,
  seconds apart, without a login, from hosting networks; or one shop hit by many cards
  from one device. Genuine look-alikes: subscriptions and 0.99 app purchases.
- account_takeover: failed-login bursts or one login from a new device on a foreign or
  hosting network, then transfers several times the usual size to payees the account never
  paid (a mule payee may recur across victims). Look-alikes: typos, new phones with OTP,
  logins from abroad while travelling, genuine new payees, VPN users.
- compromised_merchant: a popular terminal skims a share of the cards used there during a
  window; days later those cards are cloned (card present, far away) or used online.
  The shared point of compromise only shows in the merchant's later chargebacks.
- stolen_card: several payments within hours, far above the account's usual amounts, in
  categories it does not buy (electronics, jewellery, gift cards), near home or abroad online.
  Look-alike: the occasional genuine big purchase.
- impossible_travel: card-present payments far (1,500 km or more) from a genuine card-present
  payment of the same card within minutes to hours: faster than any journey. Look-alike:
  genuine trips, which always leave time for the journey.
"""

from __future__ import annotations

import numpy as np

from pipeline.simulator import catalog
from pipeline.simulator.batch import KIND_TRANSACTION
from pipeline.simulator.cloned import CompromisedMerchant, ImpossibleTravel
from pipeline.simulator.config import Scenario
from pipeline.simulator.fraudsters import DayContext, FraudRows, FraudScenario, Fraudsters
from pipeline.simulator.population import SESSION_TRANSFER
from pipeline.simulator.scam import AppScam
from pipeline.simulator.state import US_PER_HOUR, US_PER_MINUTE, US_PER_SECOND


class CardTesting(FraudScenario):
    scenario = Scenario.CARD_TESTING

    def incident(self, ctx: DayContext, rows: FraudRows) -> bool:
        f, rng, acc = self.f, ctx.rng, self.pop.accounts
        t = ctx.start + int(rng.uniform(0, 23.5) * US_PER_HOUR)  # bots keep no office hours
        device = f.device(rng)
        addr = f.address(rng, -1)
        net = {"device": device[0], "ip": addr.ip}
        if rng.random() < 0.5:  # one card, many shops
            account = int(rng.choice(f.card_accounts))
            card, delay = f.card(rng, account), f.label_delay(rng)
            for _ in range(int(rng.integers(3, 16))):
                t += int(rng.exponential(40.0) * US_PER_SECOND) + US_PER_SECOND
                shop = self._new_shop(rng, account)
                f.shop_payment(
                    rows,
                    shop,
                    self._tiny(rng),
                    ts=t,
                    account=account,
                    card=card,
                    label_delay=delay,
                    **net,
                )
            if rng.random() < 0.35:  # the card works: cash out at once
                t += int(rng.uniform(2, 60) * US_PER_MINUTE)
                f.shop_payment(
                    rows,
                    f.high_risk_online.one(rng),
                    rng.lognormal(np.log(300), 0.6),
                    ts=t,
                    account=account,
                    card=card,
                    label_delay=delay,
                    **net,
                )
        else:  # one shop, many cards
            shop = f.card_testing_online.one(rng)
            for account in rng.choice(f.card_accounts, int(rng.integers(4, 20))).tolist():
                if shop in acc.usual_online[account]:
                    continue
                card, delay = f.card(rng, account), f.label_delay(rng)
                for _ in range(int(rng.integers(1, 3))):
                    t += int(rng.exponential(20.0) * US_PER_SECOND) + US_PER_SECOND
                    f.shop_payment(
                        rows,
                        shop,
                        self._tiny(rng),
                        ts=t,
                        account=account,
                        card=card,
                        label_delay=delay,
                        **net,
                    )
        return True

    def _tiny(self, rng: np.random.Generator) -> float:
        if rng.random() < 0.5:
            return float(rng.choice([0.0, 0.5, 1.0, 1.0, 1.5, 2.0]))
        return float(rng.uniform(0.1, 2.0))

    def _new_shop(self, rng: np.random.Generator, account: int) -> int:
        usual = self.pop.accounts.usual_online[account]
        shop = self.f.card_testing_online.one(rng)
        for _ in range(4):
            if shop not in usual:
                break
            shop = self.f.card_testing_online.one(rng)
        return shop


class AccountTakeover(FraudScenario):
    scenario = Scenario.ACCOUNT_TAKEOVER

    def __init__(self, fraudsters: Fraudsters) -> None:
        super().__init__(fraudsters)
        n_mules = max(20, len(self.pop.accounts) // 200)
        self.mules = fraudsters.state.new_payees(n_mules)

    def incident(self, ctx: DayContext, rows: FraudRows) -> bool:
        f, rng, acc = self.f, ctx.rng, self.pop.accounts
        account = acc.online_activity.one(rng)
        home = int(acc.home_country[account])
        t = (
            f.local_time(ctx, account, 0, 6)
            if rng.random() < 0.5
            else f.local_time(ctx, account, 0, 24)
        )
        device, addr, delay = f.device(rng), f.address(rng, home), f.label_delay(rng)
        if rng.random() < 0.4:  # credential stuffing: many failures, then the right password
            for _ in range(int(rng.integers(3, 13))):
                f.login(
                    rows,
                    account,
                    t,
                    device,
                    addr,
                    success=False,
                    label_delay=delay,
                    auth_method=catalog.AUTH_PASSWORD,
                    failure_reason=catalog.FAIL_PASSWORD,
                )
                t += int(rng.uniform(2, 30) * US_PER_SECOND)
                if rng.random() < 0.3:
                    addr = f.address(rng, home)  # rotating proxies
            auth = catalog.AUTH_PASSWORD
        else:  # phished password (and OTP talked out of the customer)
            auth = catalog.AUTH_OTP if rng.random() < 0.5 else catalog.AUTH_PASSWORD
        f.login(rows, account, t, device, addr, success=True, auth_method=auth, label_delay=delay)
        currency = int(acc.currency[account])
        for _ in range(int(rng.integers(1, 5))):
            t += int(rng.uniform(1, 20) * US_PER_MINUTE)
            payee = (
                int(rng.choice(self.mules)) if rng.random() < 0.6 else int(f.state.new_payees(1)[0])
            )
            country = home if rng.random() < 0.5 else int(rng.integers(0, len(catalog.COUNTRIES)))
            eur = float(np.exp(acc.transfer_mu[account] + 0.5 * rng.standard_normal()))
            eur *= rng.uniform(3.0, 12.0)
            rows.add(
                kind=KIND_TRANSACTION,
                ts=t,
                account=account,
                amount=f.money(eur, currency),
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
        if rng.random() < 0.25:  # and a purchase with the account's card
            t += int(rng.uniform(1, 30) * US_PER_MINUTE)
            f.shop_payment(
                rows,
                f.high_risk_online.one(rng),
                rng.lognormal(np.log(600), 0.5),
                ts=t,
                account=account,
                card=f.card(rng, account),
                device=device[0],
                ip=addr.ip,
                label_delay=delay,
            )
        return True


class StolenCard(FraudScenario):
    scenario = Scenario.STOLEN_CARD

    def incident(self, ctx: DayContext, rows: FraudRows) -> bool:
        f, rng, acc = self.f, ctx.rng, self.pop.accounts
        account = int(rng.choice(f.card_accounts))
        card, delay = f.card(rng, account), f.label_delay(rng)
        usual_eur = float(np.exp(acc.amount_mu[account]))
        t = f.local_time(ctx, account, 8, 21)
        local_thief = rng.random() < 0.55
        device, addr = f.device(rng), f.address(rng, int(acc.home_country[account]))
        for i in range(int(rng.integers(2, 9))):
            t += int(rng.uniform(3, 60) * US_PER_MINUTE)
            probe = i == 0 and rng.random() < 0.5  # does the card still work?
            eur = usual_eur * (rng.uniform(0.5, 1.5) if probe else rng.uniform(4.0, 30.0))
            if local_thief:
                city = int(acc.home_city[account])
                if rng.random() < 0.15:
                    shop = self.pop.merchants.atm_by_city[city].one(rng)
                    eur = float(rng.choice([200, 300, 400, 500]))
                else:
                    shop = f.physical_shop(rng, city, risky=0.7)
                f.shop_payment(rows, shop, eur, ts=t, account=account, card=card, label_delay=delay)
            else:
                shop = (
                    f.high_risk_online.one(rng) if rng.random() < 0.7 else f.shops.online.one(rng)
                )
                f.shop_payment(
                    rows,
                    shop,
                    eur,
                    ts=t,
                    account=account,
                    card=card,
                    device=device[0],
                    ip=addr.ip,
                    label_delay=delay,
                )
        return True


def build_scenarios(
    fraudsters: Fraudsters, plan: dict[Scenario, np.ndarray], rng: np.random.Generator
) -> dict[Scenario, FraudScenario]:
    """The scenarios in a fixed order; ``plan`` holds each one's fraud events per day."""
    compromised = plan[Scenario.COMPROMISED_MERCHANT]
    scenarios: dict[Scenario, FraudScenario] = {
        Scenario.CARD_TESTING: CardTesting(fraudsters),
        Scenario.ACCOUNT_TAKEOVER: AccountTakeover(fraudsters),
        Scenario.COMPROMISED_MERCHANT: CompromisedMerchant(fraudsters, compromised, rng),
        Scenario.STOLEN_CARD: StolenCard(fraudsters),
        Scenario.IMPOSSIBLE_TRAVEL: ImpossibleTravel(fraudsters),
    }
    if Scenario.APP_SCAM in plan:  # a late scenario: only in a stream with a Drift
        scenarios[Scenario.APP_SCAM] = AppScam(fraudsters)
    return scenarios
