"""Daily account precision@k: what an analyst team that reviews k accounts a day would see.

Each day (UTC) every account is ranked by its highest score of the day; the team reviews the
top ``k``. An account is fraudulent that day when it has a fraud event that day. Precision
is the share of reviewed accounts that are fraudulent. An account caught once (in a day's
top k and fraudulent) is blocked and investigated, so it leaves the ranking on later days —
otherwise one obvious takeover would fill every day's queue and inflate the metric (the
"card precision top-k" of the Fraud Detection Handbook, per account).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

SECONDS_PER_DAY = 86_400.0
DEFAULT_TOP_ACCOUNTS = 100


@dataclass(frozen=True, slots=True)
class DailyAccountPrecision:
    """Per-day precision of the top ``k`` accounts, and what the team caught overall."""

    k: int
    days: list[str]  # ISO dates, in order
    precision: list[float]  # per day: fraudulent share of the reviewed accounts
    reviewed: list[int]  # per day: accounts reviewed (k, or fewer on a quiet day)
    caught: int  # distinct fraudulent accounts caught over the period
    fraudulent: int  # distinct accounts with a fraud event in the period

    @property
    def mean(self) -> float:
        """Mean of the daily precisions (nan when no day had an account to review)."""
        return float(np.mean(self.precision)) if self.precision else math.nan

    @property
    def account_recall(self) -> float:
        return self.caught / self.fraudulent if self.fraudulent else math.nan


def utc_days(ts: np.ndarray) -> np.ndarray:
    """Whole UTC days since the epoch of epoch-second times."""
    return np.floor(np.asarray(ts, dtype=np.float64) / SECONDS_PER_DAY).astype(np.int64)


def daily_account_precision(
    account_ids: np.ndarray,
    ts: np.ndarray,
    y: np.ndarray,
    score: np.ndarray,
    k: int = DEFAULT_TOP_ACCOUNTS,
) -> DailyAccountPrecision:
    """Precision@``k`` per day, with accounts caught on an earlier day left out.

    Ties in the day's highest score are broken by account id, so the result is repeatable.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    events = pl.DataFrame(
        {
            "account": np.asarray(account_ids).astype(str),
            "day": utc_days(ts),
            "fraud": np.asarray(y).astype(bool),
            "score": np.asarray(score, dtype=np.float64),
        }
    )
    per_day = events.group_by("day", "account").agg(pl.col("score").max(), pl.col("fraud").any())
    fraudulent = per_day.filter(pl.col("fraud")).get_column("account").n_unique()
    caught: set[str] = set()
    days: list[str] = []
    precision: list[float] = []
    reviewed: list[int] = []
    for day in sorted(per_day.get_column("day").unique().to_list()):
        ranked = (
            per_day.filter((pl.col("day") == day) & ~pl.col("account").is_in(list(caught)))
            .sort(["score", "account"], descending=[True, False])
            .head(k)
        )
        if ranked.height == 0:
            continue
        hits = ranked.filter(pl.col("fraud")).get_column("account").to_list()
        days.append(np.datetime64(int(day), "D").astype(str))
        precision.append(len(hits) / ranked.height)
        reviewed.append(ranked.height)
        caught.update(hits)
    return DailyAccountPrecision(
        k=k,
        days=days,
        precision=precision,
        reviewed=reviewed,
        caught=len(caught),
        fraudulent=fraudulent,
    )
