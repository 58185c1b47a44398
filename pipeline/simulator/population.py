"""The bank's world: cities and networks, merchants and terminals, accounts and their habits.

Built once per simulation from its own random stream; read-only afterwards (what changes
over time, such as the devices an account knows, lives in :mod:`pipeline.simulator.state`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.simulator import catalog
from pipeline.simulator.pools import Pool, RowSampler, apportion

MERCHANT_PHYSICAL, MERCHANT_ONLINE, MERCHANT_ATM, MERCHANT_TRANSFER = range(4)
USUAL_PHYSICAL, USUAL_ONLINE, USUAL_ATM, USUAL_PAYEES, MAX_DEVICES = 12, 6, 2, 4, 3
#: session kinds; the first four are the transaction channels in schemas.Channel order
SESSION_POS, SESSION_ECOM, SESSION_ATM, SESSION_TRANSFER, SESSION_LOGIN = range(5)
SESSION_BASE = np.array([0.42, 0.18, 0.05, 0.05, 0.30])
#: activity by local hour: quiet nights, a lunch bump, busy evenings
HOUR_BASE = np.array(
    [0.15, 0.08, 0.05, 0.04, 0.05, 0.12, 0.35, 0.7, 1.0, 1.0, 1.05, 1.15,
     1.35, 1.2, 1.0, 1.0, 1.1, 1.3, 1.45, 1.4, 1.2, 0.9, 0.6, 0.3]
)  # fmt: skip
#: how often each usual slot is used: a favourite, then a long tail
SLOT_DECAY = 0.9


def slot_weights(n: int) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** SLOT_DECAY
    return w / w.sum()


@dataclass(frozen=True, eq=False)
class World:
    """Cities, countries and the networks customers and fraudsters connect from."""

    city_lat: np.ndarray
    city_lon: np.ndarray
    city_country: np.ndarray  # country code per city
    city_offset: np.ndarray  # hours from UTC
    city_distance: np.ndarray  # km, city x city
    country_currency: np.ndarray  # currency code per country
    isp_asn: np.ndarray  # country x 2
    isp_prefix: np.ndarray  # country x 2, the /16 of the addresses
    mobile_asn: np.ndarray  # country
    mobile_prefix: np.ndarray
    hosting_asn: np.ndarray
    hosting_prefix: np.ndarray
    hosting_city: np.ndarray
    resident_cities: Pool
    travel_cities: Pool
    cashout_cities: Pool


@dataclass(frozen=True, eq=False)
class Merchants:
    ids: list[str]
    category: np.ndarray
    kind: np.ndarray
    city: np.ndarray  # -1 for online shops
    country: np.ndarray
    currency: np.ndarray
    lat: np.ndarray  # NaN for online shops
    lon: np.ndarray
    price: np.ndarray  # fixed subscription price, NaN when the amount varies
    transfer: int  # the bank's own transfer service
    physical_by_city: list[Pool]
    atm_by_city: list[Pool]
    physical_by_city_category: dict[tuple[int, int], Pool]
    online: Pool
    online_by_category: dict[int, Pool]
    #: popular card-present shops, candidates for a compromised terminal
    popular_physical: np.ndarray


@dataclass(frozen=True, eq=False)
class Accounts:
    ids: list[str]
    card_ids: list[str]
    home_city: np.ndarray
    home_country: np.ndarray
    currency: np.ndarray
    home_lat: np.ndarray
    home_lon: np.ndarray
    utc_offset: np.ndarray
    activity: Pool  # account index by how often it is active
    online_activity: Pool  # account index by how much it banks online
    session_kind: RowSampler  # per account: which kind of session
    local_hour: RowSampler  # per account: at which local hour
    amount_mu: np.ndarray  # log of the everyday card spend, in EUR
    amount_sigma: np.ndarray
    transfer_mu: np.ndarray
    cards: np.ndarray  # account x 2, -1 when the account has one card
    usual_physical: np.ndarray  # account x USUAL_PHYSICAL merchants
    usual_online: np.ndarray
    usual_atm: np.ndarray
    payees: np.ndarray  # account x USUAL_PAYEES payee numbers
    payee_country: np.ndarray
    devices: np.ndarray  # account x MAX_DEVICES at the start, -1 when absent
    device_agent: np.ndarray
    home_ip: np.ndarray
    home_asn: np.ndarray
    vpn: np.ndarray
    travel_propensity: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True, eq=False)
class Population:
    world: World
    merchants: Merchants
    accounts: Accounts
    #: first device and payee numbers not used by the population
    next_device: int
    next_payee: int


def _prefixes(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct public-looking /16 prefixes, as integers shifted into place."""
    reserved = {0, 10, 100, 127, 169, 172, 192, 198, 203}
    firsts = np.array([o for o in range(2, 224) if o not in reserved])
    chosen = rng.choice(len(firsts) * 256, size=n, replace=False)
    return (firsts[chosen // 256] * 256 + chosen % 256).astype(np.int64) << 16


def build_world(rng: np.random.Generator) -> World:
    cities = catalog.CITIES
    country_index = {c: i for i, c in enumerate(catalog.COUNTRIES)}
    lat = np.array([c.lat for c in cities])
    lon = np.array([c.lon for c in cities])
    n_countries = len(catalog.COUNTRIES)
    prefixes = _prefixes(rng, n_countries * 3 + len(catalog.HOSTING))
    city_index = {c.name: i for i, c in enumerate(cities)}
    idx = np.arange(len(cities))
    return World(
        city_lat=lat,
        city_lon=lon,
        city_country=np.array([country_index[c.country] for c in cities], dtype=np.int16),
        city_offset=np.array([c.utc_offset for c in cities]),
        city_distance=catalog.haversine_km(lat[:, None], lon[:, None], lat[None, :], lon),
        country_currency=np.array(
            [catalog.CURRENCIES.index(catalog.CURRENCY_OF_COUNTRY[c]) for c in catalog.COUNTRIES],
            dtype=np.int16,
        ),
        isp_asn=rng.integers(1_000, 60_000, size=(n_countries, 2)),
        isp_prefix=prefixes[: 2 * n_countries].reshape(n_countries, 2),
        mobile_asn=rng.integers(60_000, 64_000, size=n_countries),
        mobile_prefix=prefixes[2 * n_countries : 3 * n_countries],
        hosting_asn=np.array([h.asn for h in catalog.HOSTING], dtype=np.int64),
        hosting_prefix=prefixes[3 * n_countries :],
        hosting_city=np.array([city_index[h.city] for h in catalog.HOSTING]),
        resident_cities=Pool.of(idx, [c.residents for c in cities]),
        travel_cities=Pool.of(idx, [c.travel for c in cities]),
        cashout_cities=Pool.of(idx, [c.cashout for c in cities]),
    )


def _category_pool(kinds: tuple[str, ...]) -> Pool:
    chosen = [i for i, c in enumerate(catalog.CATEGORIES) if c.kind in kinds]
    return Pool.of(np.array(chosen), [catalog.CATEGORIES[i].share for i in chosen])


def build_merchants(rng: np.random.Generator, world: World, n: int) -> Merchants:
    n_cities = len(world.city_lat)
    n_online = round(0.3 * n)
    n_atm = max(n_cities, round(0.08 * n))
    n_physical = n - n_online - n_atm
    city_weight = np.array([c.residents + 0.5 * c.travel for c in catalog.CITIES])
    per_city = 3 + apportion(n_physical - 3 * n_cities, city_weight)
    atm_city = np.concatenate(
        [
            np.arange(n_cities),
            np.repeat(np.arange(n_cities), apportion(n_atm - n_cities, city_weight)),
        ]
    )
    phys_city = np.repeat(np.arange(n_cities), per_city)

    city = np.concatenate([phys_city, np.full(n_online, -1), atm_city]).astype(np.int16)
    kind = np.concatenate(
        [np.full(n_physical, MERCHANT_PHYSICAL), np.full(n_online, MERCHANT_ONLINE),
         np.full(n_atm, MERCHANT_ATM)]
    ).astype(np.int8)  # fmt: skip
    category = np.concatenate(
        [
            _category_pool(("physical", "both")).sample(rng, n_physical),
            _category_pool(("online", "both")).sample(rng, n_online),
            np.full(n_atm, catalog.ATM_CATEGORY),
        ]
    ).astype(np.int16)
    # online shops: mostly from the bank's home market, the rest big foreign platforms
    online_country = world.city_country[world.resident_cities.sample(rng, n_online)]
    abroad = rng.random(n_online) < 0.35
    online_country[abroad] = world.city_country[world.travel_cities.sample(rng, int(abroad.sum()))]
    country = np.concatenate(
        [world.city_country[phys_city], online_country, world.city_country[atm_city]]
    ).astype(np.int16)
    present = city >= 0
    lat = np.full(n, np.nan)
    lon = np.full(n, np.nan)
    lat[present] = np.round(world.city_lat[city[present]] + rng.normal(0, 0.04, present.sum()), 5)
    lon[present] = np.round(world.city_lon[city[present]] + rng.normal(0, 0.06, present.sum()), 5)
    popularity = rng.lognormal(0.0, 1.0, n)
    currency = world.country_currency[country]
    price = np.full(n, np.nan)
    subscription = category == catalog.CATEGORY_INDEX["streaming"]
    base_price = rng.choice([4.99, 7.99, 9.99, 12.99, 14.99, 17.99], size=int(subscription.sum()))
    price[subscription] = catalog.money(base_price, currency[subscription])

    ids = [
        ("atm-" if k == MERCHANT_ATM else "m-") + f"{i:06d}" for i, k in enumerate(kind.tolist())
    ]
    ids.append("bank-transfer")
    all_idx = np.arange(n)

    def pool(mask: np.ndarray) -> Pool:
        return Pool.of(all_idx[mask], popularity[mask])

    phys = kind == MERCHANT_PHYSICAL
    by_city_cat = {}
    for c in range(n_cities):
        for cat in np.unique(category[phys & (city == c)]).tolist():
            by_city_cat[(c, cat)] = pool(phys & (city == c) & (category == cat))
    online = kind == MERCHANT_ONLINE
    cutoff = np.quantile(popularity[phys], 0.85)
    return Merchants(
        ids=ids,
        category=np.append(category, catalog.TRANSFER_CATEGORY).astype(np.int16),
        kind=np.append(kind, MERCHANT_TRANSFER).astype(np.int8),
        city=np.append(city, -1).astype(np.int16),
        country=np.append(country, -1).astype(np.int16),
        currency=np.append(currency, -1).astype(np.int16),
        lat=np.append(lat, np.nan),
        lon=np.append(lon, np.nan),
        price=np.append(price, np.nan),
        transfer=n,
        physical_by_city=[pool(phys & (city == c)) for c in range(n_cities)],
        atm_by_city=[pool((kind == MERCHANT_ATM) & (city == c)) for c in range(n_cities)],
        physical_by_city_category=by_city_cat,
        online=pool(online),
        online_by_category={
            cat: pool(online & (category == cat)) for cat in np.unique(category[online]).tolist()
        },
        popular_physical=all_idx[phys & (popularity >= cutoff)],
    )


def _usual_merchants(
    rng: np.random.Generator,
    home_city: np.ndarray,
    merchants: Merchants,
    slots: int,
    online: bool,
) -> np.ndarray:
    """Each account's usual shops: categories from its taste, shops by popularity."""
    n = len(home_city)
    kinds = ("online", "both") if online else ("physical", "both")
    cats = _category_pool(kinds)
    shares = np.array([catalog.CATEGORIES[i].share for i in cats.items])
    taste = RowSampler.of(rng.dirichlet(shares * 6.0 + 0.05, size=n))
    cat = cats.items[taste.sample(np.repeat(np.arange(n), slots), rng)].reshape(n, slots)
    out = np.empty((n, slots), dtype=np.int32)
    city = np.broadcast_to(home_city[:, None], (n, slots))
    keys = cat.astype(np.int64) if online else city.astype(np.int64) * 1000 + cat
    for key in np.unique(keys).tolist():
        where = keys == key
        if online:
            chosen = merchants.online_by_category.get(key, merchants.online)
        else:
            c, k = divmod(key, 1000)
            chosen = merchants.physical_by_city_category.get((c, k), merchants.physical_by_city[c])
        out[where] = chosen.sample(rng, int(where.sum()))
    return out


def _usual_atms(rng: np.random.Generator, home_city: np.ndarray, merchants: Merchants):
    out = np.empty((len(home_city), USUAL_ATM), dtype=np.int32)
    for city in np.unique(home_city).tolist():
        where = home_city == city
        out[where] = (
            merchants.atm_by_city[city]
            .sample(rng, int(where.sum()) * USUAL_ATM)
            .reshape(-1, USUAL_ATM)
        )
    return out


def build_accounts(
    rng: np.random.Generator, world: World, merchants: Merchants, n: int, vpn_share: float
) -> tuple[Accounts, int, int]:
    home_city = world.resident_cities.sample(rng, n).astype(np.int16)
    home_country = world.city_country[home_city]
    activity = rng.lognormal(0.0, 0.7, n)
    session_p = rng.dirichlet(SESSION_BASE * 12.0, size=n)
    shift = rng.integers(-2, 3, n)
    hours = np.stack([np.roll(HOUR_BASE, int(s)) for s in range(-2, 3)])[shift + 2]
    hours = hours * rng.gamma(8.0, 1 / 8.0, size=(n, 24))
    second_card = rng.random(n) < 0.2
    cards = np.full((n, 2), -1, dtype=np.int32)
    cards[:, 0] = np.arange(n)
    cards[second_card, 1] = n + np.arange(int(second_card.sum()))
    n_devices = rng.choice([1, 2, 3], p=[0.4, 0.45, 0.15], size=n)
    devices = np.full((n, MAX_DEVICES), -1, dtype=np.int64)
    agents = np.full((n, MAX_DEVICES), -1, dtype=np.int16)
    has = np.arange(MAX_DEVICES)[None, :] < n_devices[:, None]
    devices[has] = 1 + np.arange(int(has.sum()))
    agents[has] = rng.integers(0, catalog.GENUINE_USER_AGENTS, int(has.sum()))
    agents[:, 0] = rng.integers(0, 6, n)  # the first device runs the bank's app
    payees = 1 + np.arange(n * USUAL_PAYEES, dtype=np.int64).reshape(n, USUAL_PAYEES)
    payee_country = np.repeat(home_country[:, None], USUAL_PAYEES, axis=1)
    abroad = rng.random(payee_country.shape) < 0.05
    payee_country[abroad] = rng.integers(0, len(catalog.COUNTRIES), int(abroad.sum()))
    isp = rng.integers(0, 2, n)
    home_ip = world.isp_prefix[home_country, isp] | rng.integers(1, 65_535, n)
    lat = np.round(world.city_lat[home_city] + rng.normal(0, 0.05, n), 5)
    lon = np.round(world.city_lon[home_city] + rng.normal(0, 0.07, n), 5)
    online_weight = activity * (session_p[:, SESSION_ECOM:].sum(axis=1) - session_p[:, SESSION_ATM])
    accounts = Accounts(
        ids=[f"acct-{i:07d}" for i in range(n)],
        card_ids=[f"card-{i:08d}" for i in range(n + int(second_card.sum()))],
        home_city=home_city,
        home_country=home_country,
        currency=world.country_currency[home_country],
        home_lat=lat,
        home_lon=lon,
        utc_offset=world.city_offset[home_city],
        activity=Pool.of(np.arange(n), activity),
        online_activity=Pool.of(np.arange(n), np.clip(online_weight, 1e-6, None)),
        session_kind=RowSampler.of(session_p),
        local_hour=RowSampler.of(hours),
        amount_mu=np.log(28.0) + rng.normal(0, 0.45, n),
        amount_sigma=rng.uniform(0.45, 0.85, n),
        transfer_mu=np.log(300.0) + rng.normal(0, 0.6, n),
        cards=cards,
        usual_physical=_usual_merchants(rng, home_city, merchants, USUAL_PHYSICAL, False),
        usual_online=_usual_merchants(rng, home_city, merchants, USUAL_ONLINE, True),
        usual_atm=_usual_atms(rng, home_city, merchants),
        payees=payees,
        payee_country=payee_country,
        devices=devices,
        device_agent=agents,
        home_ip=home_ip,
        home_asn=world.isp_asn[home_country, isp],
        vpn=rng.random(n) < vpn_share,
        travel_propensity=rng.lognormal(0.0, 0.8, n),
    )
    return accounts, int(has.sum()) + 1, n * USUAL_PAYEES + 1


def build_population(rng: np.random.Generator, accounts: int, merchants: int, vpn_share: float):
    world = build_world(rng)
    shops = build_merchants(rng, world, merchants)
    people, next_device, next_payee = build_accounts(rng, world, shops, accounts, vpn_share)
    return Population(world, shops, people, next_device, next_payee)
