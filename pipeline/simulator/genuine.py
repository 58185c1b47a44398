"""Genuine customer activity for one day, vectorised over sessions.

A session is one thing a customer does: pay in a shop (pos), withdraw cash (atm), buy
online (ecom, behind a login on a usual device unless the card is on file), send money
(transfer, behind a login) or just open the app (a login). Genuine noise is part of it:
trips abroad (with the journeys in between, so no genuine card is in two places at once),
new phones, typos at login, mobile IPs that change, VPNs, new payees and big purchases.
"""

from __future__ import annotations

import numpy as np

from pipeline.simulator import catalog
from pipeline.simulator.batch import KIND_LOGIN, EventBatch
from pipeline.simulator.config import BehaviourConfig, Drift
from pipeline.simulator.exceptions import SimulatorConfigError
from pipeline.simulator.pools import Pool
from pipeline.simulator.population import (
    MAX_DEVICES,
    SESSION_ATM,
    SESSION_BASE,
    SESSION_ECOM,
    SESSION_LOGIN,
    SESSION_POS,
    SESSION_TRANSFER,
    USUAL_ATM,
    USUAL_ONLINE,
    USUAL_PAYEES,
    USUAL_PHYSICAL,
    Population,
    slot_weights,
)
from pipeline.simulator.state import US_PER_DAY, US_PER_HOUR, US_PER_SECOND, SimState

ATM_EUR = np.array([20, 40, 50, 60, 80, 100, 150, 200, 250, 300, 400])
ATM_P = np.array([8, 10, 14, 8, 6, 16, 8, 14, 5, 7, 4], dtype=np.float64)
#: flights plus getting to and from the airport: far below the speed of "impossible" travel
TRAVEL_KMH, TRAVEL_OVERHEAD_H = 750.0, 1.0


def _slots(n: int) -> Pool:
    return Pool.of(np.arange(n), slot_weights(n))


class BehaviourShift:
    """A drift's genuine side: who takes up the category, from when, and its shops."""

    def __init__(self, population: Population, drift: Drift, start_us: int, seed: int) -> None:
        # its own generator, so the rest of the stream draws exactly what it drew before
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0xD71F7,)))
        self.start = start_us
        self.share = drift.adoption_share
        self.adopters = rng.random(len(population.accounts)) < drift.adopters
        self.relay_share = drift.relay_share
        self.relay = rng.random(len(population.accounts)) < drift.relay_adopters
        shops = population.merchants
        pool = shops.online_by_category.get(catalog.CATEGORY_INDEX[drift.category])
        if drift.adopters > 0 and (pool is None or not len(pool)):
            raise SimulatorConfigError(
                f"no online shop of category {drift.category!r}: use more --merchants"
            )
        self.shops: Pool = pool if pool is not None else shops.online


class GenuineActivity:
    """Generates the genuine events of a day and updates the state they change."""

    def __init__(
        self,
        population: Population,
        state: SimState,
        behaviour: BehaviourConfig,
        *,
        drift: Drift | None = None,
        drift_start_us: int = 0,
        seed: int = 0,
    ):
        self.pop = population
        self.state = state
        self.cfg = behaviour
        b = behaviour
        p = SESSION_BASE / SESSION_BASE.sum()
        logins = (
            p[SESSION_TRANSFER] + p[SESSION_LOGIN] + p[SESSION_ECOM] * (1 - b.card_on_file_rate)
        )
        self.events_per_session = float(
            1 - p[SESSION_LOGIN] + logins * (1 + 1.25 * b.failed_login_rate)
        )
        self.physical_slot = _slots(USUAL_PHYSICAL)
        self.online_slot = _slots(USUAL_ONLINE)
        self.atm_slot = _slots(USUAL_ATM)
        self.payee_slot = _slots(USUAL_PAYEES)
        self.device_slot = Pool.of(np.arange(MAX_DEVICES), [0.75, 0.2, 0.05])
        self.atm_amounts = Pool.of(ATM_EUR, ATM_P)
        self.shift = (
            None if drift is None else BehaviourShift(population, drift, drift_start_us, seed)
        )

    # -- trips ---------------------------------------------------------------------------

    def _start_trips(self, day_start: int, rng: np.random.Generator) -> None:
        acc, world, trips = self.pop.accounts, self.pop.world, self.state.trips
        free = trips.return_arrive < day_start
        p = self.cfg.trip_start_rate * acc.travel_propensity
        who = np.flatnonzero(free & (rng.random(len(acc)) < p))
        if not len(who):
            return
        home = acc.home_city[who]
        dest = world.travel_cities.sample(rng, len(who))
        abroad = rng.random(len(who)) < self.cfg.trip_abroad_share
        for _ in range(8):  # a few redraws until abroad trips leave the country, others stay
            same_country = world.city_country[dest] == world.city_country[home]
            redo = (dest == home) | (abroad & same_country) | (~abroad & ~same_country)
            if not redo.any():
                break
            dest[redo] = world.travel_cities.sample(rng, int(redo.sum()))
        keep = dest != home
        who, home, dest = who[keep], home[keep], dest[keep]
        hours = np.maximum(
            world.city_distance[home, dest] / TRAVEL_KMH + TRAVEL_OVERHEAD_H,
            1.0,
        )
        journey = (hours * US_PER_HOUR).astype(np.int64)
        local = rng.uniform(6.0, 21.0, len(who)) - world.city_offset[home]
        depart = day_start + ((local % 24) * US_PER_HOUR).astype(np.int64)
        nights = rng.integers(2, 12, len(who))
        back_local = rng.uniform(8.0, 22.0, len(who)) - world.city_offset[dest]
        ret = day_start + nights * US_PER_DAY + ((back_local % 24) * US_PER_HOUR).astype(np.int64)
        ret = np.maximum(ret, depart + 2 * journey + US_PER_DAY)
        trips.city[who] = dest
        trips.depart[who] = depart
        trips.arrive[who] = depart + journey
        trips.return_depart[who] = ret
        trips.return_arrive[who] = ret + journey

    # -- sessions -------------------------------------------------------------------------

    def _sessions(self, budget: int, rng: np.random.Generator):
        """Accounts, kinds and event counts of sessions adding up to exactly ``budget``."""
        acc, b = self.pop.accounts, self.cfg
        parts: list[tuple[np.ndarray, ...]] = []
        total = 0
        while total < budget:
            m = int((budget - total) / self.events_per_session * 1.03) + 16
            who = acc.activity.sample(rng, m)
            kind = acc.session_kind.sample(who, rng)
            on_file = (kind == SESSION_ECOM) & (rng.random(m) < b.card_on_file_rate)
            login = (kind >= SESSION_ECOM) & (kind != SESSION_ATM) & ~on_file
            fails = np.where(login & (rng.random(m) < b.failed_login_rate), 1, 0)
            fails += fails * (rng.random(m) < 0.25)
            parts.append((who, kind, login, fails))
            total += int(((kind != SESSION_LOGIN).astype(np.int64) + login + fails).sum())
        who, kind, login, fails = (np.concatenate(cols) for cols in zip(*parts, strict=True))
        cum = np.cumsum((kind != SESSION_LOGIN).astype(np.int64) + login + fails)
        k = int(np.searchsorted(cum, budget, side="right"))
        rest = budget - (int(cum[k - 1]) if k else 0)
        filler = acc.activity.sample(rng, rest)
        return (
            np.concatenate([who[:k], filler]),
            np.concatenate([kind[:k], np.full(rest, SESSION_POS)]),
            np.concatenate([login[:k], np.zeros(rest, dtype=bool)]),
            np.concatenate([fails[:k], np.zeros(rest, dtype=np.int64)]),
        )

    def day(self, day_start: int, budget: int, rng: np.random.Generator) -> EventBatch:
        """Exactly ``budget`` genuine events starting on the day that begins at ``day_start``."""
        if budget <= 0:
            return EventBatch.empty()
        self._start_trips(day_start, rng)
        acc, trips, state = self.pop.accounts, self.state.trips, self.state
        who, kind, login, fails = self._sessions(budget, rng)
        n = len(who)

        hour = acc.local_hour.sample(who, rng) + rng.random(n) - acc.utc_offset[who]
        ts = day_start + ((hour % 24) * US_PER_HOUR).astype(np.int64)
        # journeys: whatever would happen in the air happens after landing
        for start, end in (
            (trips.depart, trips.arrive),
            (trips.return_depart, trips.return_arrive),
        ):
            s, e = start[who], end[who]
            flying = (s >= 0) & (ts >= s) & (ts < e)
            ts[flying] = e[flying] + (ts[flying] - s[flying])
        away = (trips.city[who] >= 0) & (ts >= trips.arrive[who]) & (ts < trips.return_depart[who])
        city = np.where(away, trips.city[who], acc.home_city[who])

        # the device and network of sessions that log in
        new_device = login & (rng.random(n) < self.cfg.new_device_rate)
        known = (state.devices[who] >= 0).sum(axis=1)
        slot = np.minimum(self.device_slot.sample(rng, n), known - 1)
        device = state.devices[who, slot]
        agent = state.device_agent[who, slot].astype(np.int64)
        fresh = np.flatnonzero(new_device)
        device[fresh] = state.new_devices(len(fresh))
        agent[fresh] = rng.integers(0, catalog.GENUINE_USER_AGENTS, len(fresh))
        shift = self.shift if self.shift is not None and day_start >= self.shift.start else None
        ip, asn, ip_city = self._addresses(who, away, city, rng, shift)
        device[~login] = -1  # card-on-file payments carry no device or address
        ip[~login] = -1

        tx = np.flatnonzero(kind != SESSION_LOGIN)
        txs = self._transactions(who[tx], kind[tx], city[tx], away[tx], rng, shift)
        txs.cols["ts"] = ts[tx]
        txs.cols["device"] = device[tx]
        txs.cols["ip"] = ip[tx]
        txs.cols["noisy"] |= new_device[tx]

        lg = np.flatnonzero(login)
        gap = (rng.uniform(20, 480, len(lg)) * US_PER_SECOND).astype(np.int64)
        login_ts = np.where(kind[lg] == SESSION_LOGIN, ts[lg], ts[lg] - gap)
        net = (device, agent, ip, asn, ip_city, new_device)
        logins = self._logins(lg, login_ts, fails, who, net, rng)
        batch = EventBatch.concat([txs, logins])
        batch.cols["ts"] = np.maximum(batch.cols["ts"], day_start)
        state.adopt_devices(who[fresh], device[fresh], agent[fresh])
        return batch

    def _addresses(
        self,
        who: np.ndarray,
        away: np.ndarray,
        city: np.ndarray,
        rng: np.random.Generator,
        shift: BehaviourShift | None = None,
    ):
        """IP, ASN and the city the IP geolocates to, per session."""
        acc, world = self.pop.accounts, self.pop.world
        n = len(who)
        u = rng.random(n)
        host = rng.integers(1, 65_535, n)
        home_country = acc.home_country[who]
        ip = acc.home_ip[who].copy()
        asn = acc.home_asn[who].copy()
        ip_city = acc.home_city[who].astype(np.int64)
        # mobile data at home, or roaming abroad: the home carrier, geolocated at home
        mobile = (~away & (u >= 0.55)) | (away & (u >= 0.5))
        ip[mobile] = world.mobile_prefix[home_country[mobile]] | host[mobile]
        asn[mobile] = world.mobile_asn[home_country[mobile]]
        hotel = away & (u < 0.5)
        country = world.city_country[city[hotel]]
        isp = rng.integers(0, 2, int(hotel.sum()))
        ip[hotel] = world.isp_prefix[country, isp] | host[hotel]
        asn[hotel] = world.isp_asn[country, isp]
        ip_city[hotel] = city[hotel]
        vpn = acc.vpn[who] & (rng.random(n) < 0.5)
        h = rng.integers(0, len(world.hosting_asn), int(vpn.sum()))
        ip[vpn] = world.hosting_prefix[h] | host[vpn]
        asn[vpn] = world.hosting_asn[h]
        ip_city[vpn] = world.hosting_city[h]
        if shift is not None and shift.relay.any():  # the relay's adopters, from its start
            relay = shift.relay[who] & ~vpn & (rng.random(n) < shift.relay_share)
            h = rng.integers(0, len(world.hosting_asn), int(relay.sum()))
            ip[relay] = world.hosting_prefix[h] | host[relay]
            asn[relay] = world.hosting_asn[h]
            ip_city[relay] = world.hosting_city[h]
        return ip, asn, ip_city

    def _pick(self, pools: list[Pool], city: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = np.empty(len(city), dtype=np.int64)
        for c in np.unique(city).tolist():
            where = city == c
            out[where] = pools[c].sample(rng, int(where.sum()))
        return out

    def _transactions(
        self, who, kind, city, away, rng: np.random.Generator, shift: BehaviourShift | None = None
    ) -> EventBatch:
        acc, shops, b = self.pop.accounts, self.pop.merchants, self.cfg
        n = len(who)
        card = acc.cards[who, 0].copy()
        second = acc.cards[who, 1]
        use_second = (second >= 0) & (rng.random(n) < 0.3)
        card[use_second] = second[use_second]
        card[kind == SESSION_TRANSFER] = -1

        merchant = np.full(n, shops.transfer, dtype=np.int64)
        u = rng.random(n)
        pos, atm, ecom = kind == SESSION_POS, kind == SESSION_ATM, kind == SESSION_ECOM
        usual = pos & ~away & (u < b.usual_merchant_share)
        merchant[usual] = acc.usual_physical[
            who[usual], self.physical_slot.sample(rng, usual.sum())
        ]
        other = pos & ~usual
        merchant[other] = self._pick(shops.physical_by_city, city[other], rng)
        usual = atm & ~away & (u < 0.8)
        merchant[usual] = acc.usual_atm[who[usual], self.atm_slot.sample(rng, usual.sum())]
        other = atm & ~usual
        merchant[other] = self._pick(shops.atm_by_city, city[other], rng)
        usual = ecom & (u < b.usual_online_share)
        merchant[usual] = acc.usual_online[who[usual], self.online_slot.sample(rng, usual.sum())]
        other = ecom & ~usual
        merchant[other] = shops.online.sample(rng, int(other.sum()))
        if shift is not None and shift.adopters.any():  # online payments go to the new habit
            adopt = ecom & shift.adopters[who] & (rng.random(n) < shift.share)
            merchant[adopt] = shift.shops.sample(rng, int(adopt.sum()))

        transfer = kind == SESSION_TRANSFER
        category = shops.category[merchant]
        currency = shops.currency[merchant].copy()
        currency[transfer] = acc.currency[who[transfer]]
        country = shops.country[merchant].copy()
        payee = np.full(n, -1, dtype=np.int64)
        t = np.flatnonzero(transfer)
        pslot = self.payee_slot.sample(rng, len(t))
        payee[t] = acc.payees[who[t], pslot]
        country[t] = acc.payee_country[who[t], pslot]
        new_payee = np.zeros(n, dtype=bool)
        new_payee[t] = rng.random(len(t)) < b.new_payee_rate
        fresh = np.flatnonzero(new_payee)
        payee[fresh] = self.state.new_payees(len(fresh))
        foreign = rng.random(len(fresh)) < 0.15
        country[fresh[foreign]] = rng.integers(0, len(catalog.COUNTRIES), int(foreign.sum()))

        z = rng.standard_normal(n)
        eur = (
            np.exp(acc.amount_mu[who] + acc.amount_sigma[who] * z)
            * catalog.CATEGORY_SCALE[category]
        )
        large = (pos | ecom) & (rng.random(n) < b.large_purchase_rate)
        eur[large] *= rng.uniform(5.0, 25.0, int(large.sum()))
        eur[transfer] = np.exp(acc.transfer_mu[who[transfer]] + 0.9 * z[transfer])
        eur[atm] = self.atm_amounts.sample(rng, int(atm.sum()))
        amount = catalog.money(eur, currency)
        step = 10.0 ** np.floor(np.log10(catalog.UNITS[currency[atm]] * 20.0))
        amount[atm] = np.maximum(step, np.round(amount[atm] / step) * step)
        round_transfer = transfer & (rng.random(n) < 0.4)
        amount[round_transfer] = np.maximum(10.0, np.round(amount[round_transfer], -1))
        price = shops.price[merchant]
        fixed = ecom & ~np.isnan(price)
        amount[fixed] = price[fixed]

        abroad = (pos | atm) & (country != acc.home_country[who])
        return EventBatch.build(
            n,
            account=who,
            card=card,
            amount=amount,
            currency=currency,
            merchant=merchant,
            category=category,
            channel=kind,
            country=country,
            lat=shops.lat[merchant],
            lon=shops.lon[merchant],
            payee=payee,
            noisy=large | new_payee | abroad,
        )

    def _logins(self, sessions, login_ts, fails, who, net, rng: np.random.Generator):
        """The successful login of each session, preceded by its failed attempts if any."""
        world = self.pop.world
        device, agent, ip, asn, ip_city, new_device = net
        nf = fails[sessions]
        failed = np.repeat(sessions, nf)
        rank = np.arange(len(failed)) - np.repeat(np.cumsum(nf) - nf, nf)
        wait = (rank + 1) * rng.uniform(8, 60, len(failed)) * US_PER_SECOND
        fail_ts = np.repeat(login_ts, nf) - wait.astype(np.int64)
        rows = np.concatenate([sessions, failed])
        m, k = len(rows), len(sessions)

        app = agent[rows] < 6
        fresh_device = new_device[rows]
        u = rng.random(m)
        auth = np.where(app & (u < 0.7), catalog.AUTH_BIOMETRIC, catalog.AUTH_PASSWORD)
        auth = np.where(~app & (u >= 0.85), catalog.AUTH_OTP, auth)
        auth = np.where(
            fresh_device, np.where(u < 0.8, catalog.AUTH_OTP, catalog.AUTH_PASSWORD), auth
        )
        success = np.arange(m) < k
        bad_otp = rng.random(m) < 0.15
        auth[~success] = np.where(bad_otp[~success], catalog.AUTH_OTP, catalog.AUTH_PASSWORD)
        reason = np.where(bad_otp, catalog.FAIL_OTP, catalog.FAIL_PASSWORD)
        reason[success] = -1
        where = ip_city[rows]
        return EventBatch.build(
            m,
            kind=KIND_LOGIN,
            ts=np.concatenate([login_ts, fail_ts]),
            account=who[rows],
            country=world.city_country[where],
            lat=world.city_lat[where],
            lon=world.city_lon[where],
            device=device[rows],
            ip=ip[rows],
            asn=asn[rows],
            user_agent=agent[rows],
            auth_method=auth,
            failure_reason=reason,
            success=success,
            noisy=~success | fresh_device,
        )
