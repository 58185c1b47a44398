"""Static world data of the simulation: cities, currencies, merchant categories, networks.

Values are plausible rather than exact (standard-time UTC offsets, rounded exchange rates);
the autonomous-system numbers of hosting providers are the real ones, those of consumer
ISPs are drawn per country by the population builder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class City:
    name: str
    country: str
    lat: float
    lon: float
    utc_offset: float
    #: relative share of the bank's customers living there
    residents: float
    #: relative attractiveness as a travel destination
    travel: float
    #: relative attractiveness for cashing out cloned or stolen cards
    cashout: float


CITIES: tuple[City, ...] = (
    City("Berlin", "DE", 52.520, 13.405, 1, 8.0, 3.0, 1.0),
    City("Munich", "DE", 48.137, 11.575, 1, 4.0, 2.0, 0.5),
    City("Hamburg", "DE", 53.551, 9.994, 1, 3.0, 1.0, 0.5),
    City("Frankfurt", "DE", 50.110, 8.682, 1, 2.0, 1.0, 0.5),
    City("Paris", "FR", 48.857, 2.352, 1, 7.0, 5.0, 1.5),
    City("Lyon", "FR", 45.764, 4.836, 1, 2.0, 1.0, 0.3),
    City("Madrid", "ES", 40.417, -3.704, 1, 4.0, 3.0, 1.0),
    City("Barcelona", "ES", 41.385, 2.173, 1, 3.0, 4.0, 1.5),
    City("Rome", "IT", 41.903, 12.496, 1, 4.0, 4.0, 1.0),
    City("Milan", "IT", 45.464, 9.190, 1, 3.0, 2.0, 1.0),
    City("Amsterdam", "NL", 52.368, 4.904, 1, 3.0, 3.0, 1.0),
    City("Brussels", "BE", 50.850, 4.352, 1, 2.0, 1.0, 0.5),
    City("Vienna", "AT", 48.208, 16.373, 1, 2.0, 2.0, 0.5),
    City("Warsaw", "PL", 52.230, 21.012, 1, 3.0, 1.0, 1.0),
    City("Prague", "CZ", 50.076, 14.438, 1, 1.0, 2.0, 1.0),
    City("Lisbon", "PT", 38.722, -9.139, 0, 2.0, 3.0, 0.5),
    City("Dublin", "IE", 53.350, -6.260, 0, 1.5, 1.0, 0.5),
    City("Stockholm", "SE", 59.329, 18.069, 1, 1.5, 1.0, 0.3),
    City("Athens", "GR", 37.984, 23.728, 2, 1.0, 3.0, 0.5),
    City("Bucharest", "RO", 44.427, 26.103, 2, 1.0, 0.5, 3.0),
    City("Zurich", "CH", 47.377, 8.542, 1, 1.0, 1.0, 0.3),
    City("London", "GB", 51.507, -0.128, 0, 3.0, 5.0, 2.0),
    City("New York", "US", 40.713, -74.006, -5, 0.5, 4.0, 2.0),
    City("Los Angeles", "US", 34.052, -118.244, -8, 0.2, 2.0, 1.5),
    City("Toronto", "CA", 43.653, -79.383, -5, 0.1, 1.0, 0.5),
    City("Mexico City", "MX", 19.433, -99.133, -6, 0.1, 1.0, 2.0),
    City("São Paulo", "BR", -23.550, -46.633, -3, 0.1, 1.0, 2.0),
    City("Istanbul", "TR", 41.008, 28.978, 3, 0.3, 3.0, 2.5),
    City("Dubai", "AE", 25.205, 55.271, 4, 0.1, 2.0, 1.5),
    City("Lagos", "NG", 6.524, 3.379, 1, 0.05, 0.2, 2.5),
    City("Johannesburg", "ZA", -26.204, 28.047, 2, 0.05, 0.5, 1.5),
    City("Mumbai", "IN", 19.076, 72.878, 5.5, 0.05, 0.5, 1.0),
    City("Bangkok", "TH", 13.756, 100.502, 7, 0.05, 2.0, 2.0),
    City("Singapore", "SG", 1.352, 103.820, 8, 0.1, 1.5, 0.5),
    City("Tokyo", "JP", 35.676, 139.650, 9, 0.05, 1.5, 0.3),
    City("Sydney", "AU", -33.869, 151.209, 10, 0.05, 1.0, 0.3),
)

COUNTRIES: tuple[str, ...] = tuple(dict.fromkeys(c.country for c in CITIES))

CURRENCY_OF_COUNTRY: dict[str, str] = {
    "DE": "EUR", "FR": "EUR", "ES": "EUR", "IT": "EUR", "NL": "EUR", "BE": "EUR",
    "AT": "EUR", "PT": "EUR", "IE": "EUR", "GR": "EUR", "PL": "PLN", "CZ": "CZK",
    "SE": "SEK", "RO": "RON", "CH": "CHF", "GB": "GBP", "US": "USD", "CA": "CAD",
    "MX": "MXN", "BR": "BRL", "TR": "TRY", "AE": "AED", "NG": "NGN", "ZA": "ZAR",
    "IN": "INR", "TH": "THB", "SG": "SGD", "JP": "JPY", "AU": "AUD",
}  # fmt: skip

#: units of the currency per euro (rounded)
UNITS_PER_EUR: dict[str, float] = {
    "EUR": 1.0, "PLN": 4.3, "CZK": 25.0, "SEK": 11.4, "RON": 5.0, "CHF": 0.95,
    "GBP": 0.85, "USD": 1.08, "CAD": 1.47, "MXN": 19.0, "BRL": 5.5, "TRY": 35.0,
    "AED": 4.0, "NGN": 1600.0, "ZAR": 20.0, "INR": 90.0, "THB": 38.0, "SGD": 1.45,
    "JPY": 160.0, "AUD": 1.65,
}  # fmt: skip
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY"})
CURRENCIES: tuple[str, ...] = tuple(UNITS_PER_EUR)


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    #: "physical" shops, "online" shops, or "both"
    kind: str
    #: typical amount relative to the account's everyday spend
    scale: float
    #: share of merchants of this kind in this category
    share: float
    #: favoured by fraudsters cashing out (electronics, jewellery, gift cards, …)
    high_risk: bool = False


CATEGORIES: tuple[Category, ...] = (
    Category("grocery", "physical", 1.0, 0.24),
    Category("restaurant", "physical", 0.9, 0.18),
    Category("fuel", "physical", 1.4, 0.07),
    Category("pharmacy", "physical", 0.7, 0.05),
    Category("clothing", "both", 2.2, 0.09),
    Category("electronics", "both", 4.5, 0.06, True),
    Category("hardware", "physical", 1.8, 0.04),
    Category("entertainment", "physical", 1.1, 0.05),
    Category("travel", "both", 6.0, 0.05),
    Category("jewelry", "physical", 6.0, 0.02, True),
    Category("liquor", "physical", 1.0, 0.03, True),
    Category("marketplace", "online", 1.6, 0.24),
    Category("digital_goods", "online", 0.3, 0.12, True),
    Category("streaming", "online", 0.35, 0.08),
    Category("food_delivery", "online", 0.9, 0.10),
    Category("gaming", "online", 0.6, 0.05, True),
    Category("gift_cards", "online", 2.0, 0.03, True),
    Category("crypto_exchange", "online", 5.0, 0.02, True),
    Category("atm", "atm", 1.0, 0.0),
    Category("transfer", "transfer", 1.0, 0.0),
)
CATEGORY_NAMES: tuple[str, ...] = tuple(c.name for c in CATEGORIES)
CATEGORY_INDEX: dict[str, int] = {name: i for i, name in enumerate(CATEGORY_NAMES)}
ATM_CATEGORY = CATEGORY_INDEX["atm"]
TRANSFER_CATEGORY = CATEGORY_INDEX["transfer"]
CATEGORY_SCALE = np.array([c.scale for c in CATEGORIES])
HIGH_RISK = np.array([c.high_risk for c in CATEGORIES])
#: online categories where card testers probe cards with tiny amounts
CARD_TESTING_CATEGORIES: tuple[str, ...] = ("digital_goods", "gaming", "streaming", "gift_cards")


@dataclass(frozen=True, slots=True)
class Hosting:
    """A hosting provider's network: where bots, proxies and some VPN users come from."""

    asn: int
    city: str


HOSTING: tuple[Hosting, ...] = (
    Hosting(16509, "Frankfurt"),  # Amazon
    Hosting(16509, "New York"),
    Hosting(16509, "Singapore"),
    Hosting(14061, "Amsterdam"),  # DigitalOcean
    Hosting(24940, "Frankfurt"),  # Hetzner
    Hosting(9009, "Bucharest"),  # M247
    Hosting(9009, "London"),
    Hosting(16276, "Paris"),  # OVH
    Hosting(20473, "Los Angeles"),  # Vultr
)

#: (user agent, is the bank's mobile app)
USER_AGENTS: tuple[tuple[str, bool], ...] = (
    ("FraudstreamBank/5.12 (iPhone; iOS 17.5)", True),
    ("FraudstreamBank/5.12 (iPhone; iOS 16.7)", True),
    ("FraudstreamBank/5.12 (Android 14; Pixel 8)", True),
    ("FraudstreamBank/5.11 (Android 13; SM-S911B)", True),
    ("FraudstreamBank/5.10 (Android 12; Redmi Note 11)", True),
    ("FraudstreamBank/5.12 (iPad; iPadOS 17.4)", True),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
        False,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4 Safari/605.1.15",
        False,
    ),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0", False),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", False),
    # seen mostly with fraudsters, now and then with genuine power users
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/122.0.0.0 Safari/537.36",
        False,
    ),
    ("python-requests/2.31.0", False),
    (
        "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/90.0.4430.93 Safari/537.36",
        False,
    ),
)
#: user agents a genuine customer's own device may have
GENUINE_USER_AGENTS = 10

AUTH_METHODS: tuple[str, ...] = ("password", "biometric", "otp")
AUTH_PASSWORD, AUTH_BIOMETRIC, AUTH_OTP = range(3)
FAILURE_REASONS: tuple[str, ...] = ("bad_password", "bad_otp", "locked")
FAIL_PASSWORD, FAIL_OTP, FAIL_LOCKED = range(3)

EARTH_RADIUS_KM = 6371.0


def haversine_km(
    lat1: npt.ArrayLike, lon1: npt.ArrayLike, lat2: npt.ArrayLike, lon2: npt.ArrayLike
) -> np.ndarray:
    """Great-circle distance in km (vectorised)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2) - np.radians(lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


#: per currency code: units per euro and the number of decimals of the currency
UNITS = np.array([UNITS_PER_EUR[c] for c in CURRENCIES])
DECIMALS = np.array([0 if c in ZERO_DECIMAL_CURRENCIES else 2 for c in CURRENCIES])


def money(eur: np.ndarray, currency: np.ndarray) -> np.ndarray:
    """Euro amounts converted into ``currency`` (codes) and rounded to its minor unit."""
    scale = 10.0 ** DECIMALS[currency]
    return np.round(np.asarray(eur) * UNITS[currency] * scale) / scale
