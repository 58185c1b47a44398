"""A small synthetic event log with obvious fraud patterns, for model tests.

Accounts have a home country, one or two devices, favourite merchants and a usual spend;
three fraud patterns break those habits the way the token features can see:

- account takeover: failed logins from a new device abroad, a login, then large transfers
  to a new payee;
- card testing: a burst of tiny e-commerce payments at new merchants, then a large one;
- impossible travel: a card-present payment far from home minutes after one at home.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from schemas.tabular import event_log_schema, feedback_schema

START = datetime(2026, 1, 1, tzinfo=UTC)
CITIES = {"FR": (48.85, 2.35), "DE": (52.52, 13.40), "ES": (40.42, -3.70), "BR": (-23.55, -46.63)}
CATEGORIES = ["grocery", "fuel", "restaurant", "electronics", "travel", "pharmacy"]


def _row(**fields: Any) -> dict[str, Any]:
    row = dict.fromkeys(event_log_schema(), None)
    row.update(fields)
    return row


def synthetic_events(accounts: int = 80, days: int = 30, seed: int = 3) -> pl.DataFrame:
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    counter = 0

    def next_id() -> str:
        nonlocal counter
        counter += 1
        return f"ev{counter:07d}"

    def tx(account: str, ts: datetime, **kw: Any) -> dict[str, Any]:
        base = dict(
            event_type="transaction",
            event_id=next_id(),
            account_id=account,
            ts=ts,
            currency="EUR",
            success=None,
            is_fraud=False,
            fraud_scenario=None,
        )
        base.update(kw)
        return _row(**base)

    def login(account: str, ts: datetime, ok: bool, **kw: Any) -> dict[str, Any]:
        base = dict(
            event_type="login",
            event_id=next_id(),
            account_id=account,
            ts=ts,
            success=ok,
            is_fraud=False,
            fraud_scenario=None,
        )
        base.update(kw)
        return _row(**base)

    for a in range(accounts):
        account = f"acc{a:04d}"
        home = rng.choice(["FR", "FR", "DE", "ES"])
        lat, lon = CITIES[home]
        devices = [f"dev{a}-{i}" for i in range(rng.randint(1, 2))]
        merchants = [f"m{rng.randrange(60):03d}" for _ in range(6)]
        usual = rng.uniform(2.5, 4.0)
        t = START + timedelta(minutes=rng.uniform(0, 600))
        end = START + timedelta(days=days)
        fraud_day = rng.uniform(3, days - 1) if rng.random() < 0.35 else None
        pattern = rng.choice(["account_takeover", "card_testing", "impossible_travel"])
        done = False
        while t < end:
            t += timedelta(hours=rng.expovariate(1 / 9))
            if rng.random() < 0.2:
                rows.append(
                    login(
                        account,
                        t,
                        rng.random() > 0.03,
                        device_id=devices[0],
                        country=home,
                        lat=lat,
                        lon=lon,
                    )
                )
                continue
            merchant = rng.choice(merchants)
            rows.append(
                tx(
                    account,
                    t,
                    amount=round(rng.lognormvariate(usual, 0.5), 2),
                    merchant_id=merchant,
                    merchant_category=CATEGORIES[hash(merchant) % 6],
                    channel=rng.choice(["pos", "pos", "ecom"]),
                    country=home,
                    lat=lat + rng.uniform(-0.05, 0.05),
                    lon=lon + rng.uniform(-0.05, 0.05),
                    device_id=rng.choice(devices),
                )
            )
            if fraud_day is not None and not done and t > START + timedelta(days=fraud_day):
                done = True
                rows.extend(_fraud(pattern, account, t, rng, tx, login, home, usual))
    frame = pl.DataFrame(rows, schema=event_log_schema(), orient="row")
    return frame.sort(["ts", "event_id"])


def _fraud(pattern, account, t, rng, tx, login, home, usual):  # type: ignore[no-untyped-def]
    bad = dict(is_fraud=True, fraud_scenario=pattern)
    out = []
    if pattern == "account_takeover":
        device = f"evil{rng.randrange(10**6)}"
        lat, lon = CITIES["BR"]
        for _ in range(rng.randint(3, 5)):
            t += timedelta(seconds=rng.uniform(20, 90))
            out.append(
                login(account, t, False, device_id=device, country="BR", lat=lat, lon=lon, **bad)
            )
        t += timedelta(seconds=60)
        out.append(login(account, t, True, device_id=device, country="BR", lat=lat, lon=lon, **bad))
        for _ in range(rng.randint(2, 3)):
            t += timedelta(minutes=rng.uniform(1, 5))
            out.append(
                tx(
                    account,
                    t,
                    amount=round(rng.uniform(900, 3000), 2),
                    channel="transfer",
                    merchant_id="bank-transfer",
                    payee_id=f"mule{rng.randrange(50)}",
                    device_id=device,
                    country="BR",
                    **bad,
                )
            )
    elif pattern == "card_testing":
        for _ in range(rng.randint(5, 8)):
            t += timedelta(seconds=rng.uniform(10, 60))
            out.append(
                tx(
                    account,
                    t,
                    amount=round(rng.uniform(0.5, 2.0), 2),
                    channel="ecom",
                    merchant_id=f"shady{rng.randrange(5)}",
                    merchant_category="digital",
                    country=home,
                    **bad,
                )
            )
        t += timedelta(minutes=2)
        out.append(
            tx(
                account,
                t,
                amount=round(rng.uniform(400, 1200), 2),
                channel="ecom",
                merchant_id=f"shady{rng.randrange(5)}",
                merchant_category="electronics",
                country=home,
                **bad,
            )
        )
    else:
        lat, lon = CITIES["BR"]
        for _ in range(2):
            t += timedelta(minutes=rng.uniform(5, 20))
            out.append(
                tx(
                    account,
                    t,
                    amount=round(rng.lognormvariate(usual + 1.5, 0.3), 2),
                    channel="pos",
                    merchant_id=f"far{rng.randrange(9)}",
                    merchant_category="electronics",
                    country="BR",
                    lat=lat,
                    lon=lon,
                    **bad,
                )
            )
    return out


def synthetic_feedback(events: pl.DataFrame, seed: int = 5) -> pl.DataFrame:
    """Chargebacks for every fraudulent transaction, analyst verdicts on a few genuine ones."""
    rng = random.Random(seed)
    rows = []
    for event in events.iter_rows(named=True):
        if event["event_type"] != "transaction":
            continue
        if event["is_fraud"]:
            delay, label, source = timedelta(days=rng.uniform(2, 15)), "fraud", "chargeback"
        elif rng.random() < 0.02:
            delay, label, source = timedelta(hours=rng.uniform(1, 48)), "genuine", "analyst"
        else:
            continue
        row = dict.fromkeys(feedback_schema(), None)
        row.update(
            event_id=event["event_id"],
            account_id=event["account_id"],
            ts=event["ts"] + delay,
            merchant_id=event["merchant_id"],
            label=label,
            source=source,
        )
        rows.append(row)
    return pl.DataFrame(rows, schema=feedback_schema(), orient="row")


def write_simulator_layout(
    root: Path, events: pl.DataFrame, feedback: pl.DataFrame | None = None
) -> Path:
    """DIR/events/day=*/part-0.parquet and (with feedback) DIR/feedback/day=*/part-0.parquet."""
    for name, frame in (("events", events), ("feedback", feedback)):
        if frame is None:
            continue
        days = frame.with_columns(pl.col("ts").dt.strftime("%Y-%m-%d").alias("_day"))
        for (day,), part in days.group_by("_day"):
            folder = root / name / f"day={day}"
            folder.mkdir(parents=True, exist_ok=True)
            part.drop("_day").write_parquet(folder / "part-0.parquet")
    return root
