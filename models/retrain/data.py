"""The data of a retrain: the frozen regression set, the recent held-out window, the training
log (new labels + a replay sample of older accounts) and the reviewed false positives."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from models.data import EventLog, load_event_log
from models.retrain.config import RetrainConfig
from models.retrain.exceptions import RetrainError
from schemas import Decision, FeedbackSource, Label

log = logging.getLogger(__name__)

REGRESSION_META = "regression.json"
FROZEN_DAY = "day=frozen"
#: salts of the two account hashes (the regression set and the replay sample differ)
_REGRESSION_SALT = "fraudstream-regression"
_REPLAY_SALT = "fraudstream-replay"
ALERTED = (Decision.REVIEW.value, Decision.BLOCK.value)


def _bucket(account_id: str | None, salt: str) -> float:
    """A stable number in [0, 1) per account (the same in every run and Python version)."""
    digest = hashlib.sha256(f"{salt}\x1f{account_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def account_mask(events: pl.DataFrame, share: float, salt: str) -> pl.Series:
    """True for the events of the ``share`` of accounts picked by a hash of account_id."""
    accounts = events.get_column("account_id").unique().to_list()
    picked = [a for a in accounts if _bucket(a, salt) < share]
    return events.get_column("account_id").is_in(picked)


def subset(event_log: EventLog, events: pl.DataFrame, source: str) -> EventLog:
    """``events`` (rows of ``event_log`` or another log) with the feedback about them."""
    events = events.sort(["ts", "event_id"], maintain_order=True)
    feedback = event_log.feedback
    if feedback is not None:
        feedback = feedback.filter(
            pl.col("event_id").is_in(events.get_column("event_id").implode())
        )
    return EventLog(events=events, feedback=feedback, source=source)


def _ts(events: pl.DataFrame) -> np.ndarray:
    return (events.get_column("ts").dt.epoch("us").cast(pl.Float64) / 1e6).to_numpy()


# ---- the regression set -------------------------------------------------------------------
@dataclass(frozen=True)
class RegressionSet:
    directory: Path
    log: EventLog
    share: float
    created: bool  # frozen by this run


def _write_frozen(event_log: EventLog, directory: Path) -> None:
    events_dir = directory / "events" / FROZEN_DAY
    events_dir.mkdir(parents=True, exist_ok=True)
    event_log.events.write_parquet(events_dir / "part-0.parquet")
    if event_log.feedback is not None and event_log.feedback.height:
        feedback_dir = directory / "feedback" / FROZEN_DAY
        feedback_dir.mkdir(parents=True, exist_ok=True)
        event_log.feedback.write_parquet(feedback_dir / "part-0.parquet")


def _typed_frauds(events: pl.DataFrame) -> pl.DataFrame:
    """account_id, fraud_scenario and count of the frauds whose type is known."""
    return (
        events.filter(pl.col("is_fraud").fill_null(False) & pl.col("fraud_scenario").is_not_null())
        .group_by("account_id", "fraud_scenario")
        .len("frauds")
    )


def _per_type(typed: pl.DataFrame) -> dict[str, int]:
    """Frauds per type, from :func:`_typed_frauds`' per-account counts, sorted by type."""
    counts = typed.group_by("fraud_scenario").agg(pl.col("frauds").sum())
    return dict(sorted(counts.iter_rows()))


def fraud_type_counts(events: pl.DataFrame) -> dict[str, int]:
    """Frauds per known fraud type."""
    return _per_type(_typed_frauds(events))


def _topped_up(
    events: pl.DataFrame, picked: set[str], min_frauds: int, max_share: float
) -> set[str]:
    """Accounts to freeze besides ``picked`` so that each fraud type holds ``min_frauds``
    frauds, or ``max_share`` of that type's frauds when it has fewer than
    ``min_frauds / max_share`` (the rest stay to train on). Accounts are taken in the
    order of their regression hash, so the same data always freezes the same accounts."""
    typed = _typed_frauds(events)
    per_account: dict[str, dict[str, int]] = {}
    for account, scenario, frauds in typed.iter_rows():
        per_account.setdefault(account, {})[scenario] = frauds
    held: dict[str, int] = {}
    for account in picked & per_account.keys():
        for scenario, frauds in per_account[account].items():
            held[scenario] = held.get(scenario, 0) + frauds
    added: set[str] = set()
    for scenario, total in _per_type(typed).items():
        target = min(min_frauds, int(max_share * total))
        candidates = sorted(
            (a for a, kinds in per_account.items() if scenario in kinds),
            key=lambda a: _bucket(a, _REGRESSION_SALT),
        )
        for account in candidates:
            if held.get(scenario, 0) >= target:
                break
            if account in picked or account in added:
                continue
            added.add(account)
            for kind, frauds in per_account[account].items():
                held[kind] = held.get(kind, 0) + frauds
    return added


def regression_set(
    new: EventLog,
    directory: Path,
    share: float,
    min_frauds: int = 0,
    max_fraud_share: float = RetrainConfig.regression_max_fraud_share,
) -> RegressionSet:
    """The frozen regression set in ``directory``; frozen from ``new`` the first time.

    It holds the ``share`` of accounts picked by a hash of their id, plus, for each fraud
    type the labels name that those leave short of ``min_frauds`` frauds, further accounts
    with frauds of that type (at most ``max_fraud_share`` of its frauds): a recall per
    scenario compared on a handful of frauds would be a test of one fraud.
    """
    meta_path = directory / REGRESSION_META
    if meta_path.is_file():
        saved = json.loads(meta_path.read_text(encoding="utf-8"))
        frozen = load_event_log(directory)
        return RegressionSet(directory, frozen, float(saved["share"]), created=False)
    if share <= 0.0:
        raise RetrainError(
            f"no regression set in {directory} and regression_share is 0: "
            "set RetrainConfig.regression_share > 0 for the first retrain"
        )
    mask = account_mask(new.events, share, _REGRESSION_SALT)
    picked = set(new.events.filter(mask).get_column("account_id").unique().to_list())
    added = _topped_up(new.events, picked, min_frauds, max_fraud_share) if min_frauds else set()
    if added:
        mask = mask | new.events.get_column("account_id").is_in(sorted(added))
    frozen = subset(new, new.events.filter(mask), str(directory))
    if frozen.events.height == 0:
        raise RetrainError(f"{new.source} has too few accounts to freeze a regression set")
    directory.mkdir(parents=True, exist_ok=True)
    _write_frozen(frozen, directory)
    meta: dict[str, Any] = {
        "share": share,
        "salt": _REGRESSION_SALT,
        "created_at": datetime.now(UTC).isoformat(),
        "source": new.source,
        "events": frozen.events.height,
        "frauds": int(frozen.labels.fill_null(False).sum()),
        "frauds_by_type": fraud_type_counts(frozen.events),
        "min_frauds_per_type": min_frauds,
        "accounts_added_for_fraud_types": len(added),
    }
    meta_path.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    log.info(
        "regression set frozen dir=%s events=%d frauds_by_type=%s added_accounts=%d",
        directory,
        frozen.events.height,
        meta["frauds_by_type"],
        len(added),
    )
    return RegressionSet(directory, load_event_log(directory), share, created=True)


def without_regression(event_log: EventLog, regression: RegressionSet) -> EventLog:
    """``event_log`` without the regression set's accounts (so without its events): those
    of the hashed share, also accounts first seen since, and those frozen for their frauds'
    types."""
    events = event_log.events
    frozen = regression.log.events.get_column("account_id").unique().implode()
    keep = ~account_mask(events, regression.share, _REGRESSION_SALT) & ~events.get_column(
        "account_id"
    ).is_in(frozen)
    return subset(event_log, events.filter(keep), event_log.source)


# ---- training data and the recent window --------------------------------------------------
#: fewer late fraud labels than this: the log is labelled once and for all (maturity 0)
MIN_LATE_LABELS = 5


@dataclass(frozen=True)
class RetrainData:
    train: EventLog  # what the challenger learns from
    recent: EventLog  # new data with its history; scored rows: recent_start <= ts <= recent_end
    recent_start: float  # epoch seconds
    weights: dict[str, float]  # event id -> weight (reviewed false positives)
    info: dict[str, Any]
    recent_end: float = np.inf  # epoch seconds


def label_maturity(event_log: EventLog, quantile: float) -> float:
    """Seconds a missed fraud takes to be labelled, measured on the log's own feedback.

    Analysts label what the champion alerted on within hours; the frauds it let through are
    labelled only when a chargeback or the customer's claim arrives. The ``quantile`` of the
    delay between such an event and its first fraud label from those sources is how long
    the labels of an event need to be complete. 0 when the log has fewer than
    ``MIN_LATE_LABELS`` of them (a data set labelled once and for all).
    """
    feedback = event_log.feedback
    if feedback is None or feedback.height == 0:
        return 0.0
    late = (
        feedback.filter(
            (pl.col("label") == Label.FRAUD.value)
            & (pl.col("source") != FeedbackSource.ANALYST.value)
            & pl.col("ts").is_not_null()
        )
        .group_by("event_id")
        .agg(pl.col("ts").min().alias("labelled"))
        .join(event_log.events.select("event_id", pl.col("ts").alias("happened")), on="event_id")
    )
    if late.height < MIN_LATE_LABELS:
        return 0.0
    delays = late.select(
        (pl.col("labelled").dt.epoch("us") - pl.col("happened").dt.epoch("us")).cast(pl.Float64)
        / 1e6
    ).to_series()
    return max(0.0, float(np.quantile(delays.to_numpy(), quantile)))


def _data_now(event_log: EventLog) -> float:
    """The latest moment the log knows of: its last event or its last label."""
    now = float(_ts(event_log.events).max())
    feedback = event_log.feedback
    if feedback is not None and feedback.get_column("ts").drop_nulls().len():
        last = feedback.get_column("ts").drop_nulls().max()
        now = max(now, last.timestamp())  # type: ignore[union-attr]
    return now


def _recent_window(
    new: EventLog, fraction: float, maturity: float, after: float
) -> tuple[float, float, bool]:
    """(start, end, matured) of the held-out window: the last ``fraction`` of the new events
    among those whose labels are complete (older than ``maturity`` at the log's end) and
    that the champion never trained on (after ``after``). Where too few events qualify,
    the last ``fraction`` of all new events, flagged as not matured."""
    ts = _ts(new.events)
    if len(ts) < 10:
        raise RetrainError(f"only {len(ts)} new events: too few to hold out a recent window")
    size = max(1, int(len(ts) * fraction))
    tail_start = float(ts[len(ts) - size])
    if maturity == 0.0:
        return tail_start, np.inf, True
    horizon = _data_now(new) - maturity
    matured = np.flatnonzero(ts <= horizon)
    picked = matured[max(0, len(matured) - size) :]
    picked = picked[ts[picked] > after]
    if len(picked) < max(1, size // 2):
        log.warning(
            "recent window not matured: %d events are older than the label maturity "
            "(%.1f h) and newer than the champion's training end, %d wanted",
            len(picked),
            maturity / 3600,
            size,
        )
        return tail_start, np.inf, False
    return float(ts[picked[0]]), float(horizon), True


def reviewed_false_positives(data_dir: Path, event_log: EventLog) -> set[str]:
    """Events the champion alerted on (the store's ``decision`` column: review or block)
    that an analyst labelled genuine and that are not fraud in the end."""
    files = sorted((data_dir / "events").glob("day=*/*.parquet"))
    frames = [
        pl.read_parquet(f, columns=["event_id", "decision"], hive_partitioning=False)
        for f in files
        if "decision" in pl.read_parquet_schema(f)
    ]
    if not frames or event_log.feedback is None:
        return set()
    alerted = pl.concat(frames).filter(pl.col("decision").is_in(ALERTED))
    genuine = event_log.feedback.filter(
        (pl.col("source") == FeedbackSource.ANALYST.value)
        & (pl.col("label") == Label.GENUINE.value)
    ).get_column("event_id")
    not_fraud = event_log.events.filter(~pl.col("is_fraud").fill_null(False)).get_column("event_id")
    ids = alerted.get_column("event_id")
    return set(ids.filter(ids.is_in(genuine.implode()) & ids.is_in(not_fraud.implode())).to_list())


def retrain_data(
    data_dir: Path,
    new: EventLog,
    older: EventLog | None,
    champion_end: datetime | None,
    config: RetrainConfig,
) -> RetrainData:
    """Split ``new`` (regression accounts already removed) into training and recent window.

    Training = the new events since ``champion_end`` before the recent window, plus a
    ``replay_share`` sample of the older accounts' events (from ``new`` before
    ``champion_end`` and from ``older``, the champion's own training data, where it
    precedes ``new``), and with ``replay_all_frauds`` every older account with a fraud.
    """
    cutoff = champion_end.timestamp() if champion_end is not None else -np.inf
    maturity = (
        label_maturity(new, config.label_maturity_quantile)
        if config.label_maturity_days is None
        else config.label_maturity_days * 86_400.0
    )
    recent_start, recent_end, matured = _recent_window(
        new, config.recent_fraction, maturity, cutoff
    )
    ts = _ts(new.events)
    in_recent = (ts >= recent_start) & (ts <= recent_end)
    # the events after a matured window train too: they carry the newest verdicts on the
    # champion's alerts (dropping their unlabelled rows instead cost old-pattern recall in
    # docs/CONTINUAL.md's run)
    before_recent = ~in_recent
    fresh = before_recent & (ts > cutoff)
    if int(fresh.sum()) < config.min_new_events:
        log.warning(
            "few events after the champion's training end fresh=%d min=%d: training on all of %s",
            int(fresh.sum()),
            config.min_new_events,
            new.source,
        )
        fresh = before_recent
    fresh_events = new.events.filter(pl.Series(fresh))
    old_frames = [new.events.filter(pl.Series(before_recent & ~fresh))]
    if older is not None:  # only what precedes the new data: one history per account
        first = new.events.get_column("ts").min()
        old_frames.append(
            older.events.filter(
                (pl.col("ts") < first)
                & ~pl.col("event_id").is_in(new.events.get_column("event_id").implode())
            )
        )
    old_events = pl.concat(old_frames, how="diagonal_relaxed")
    replay = account_mask(old_events, config.replay_share, _REPLAY_SALT)
    if config.replay_all_frauds:
        defrauded = old_events.filter(pl.col("is_fraud").fill_null(False)).get_column("account_id")
        replay = replay | old_events.get_column("account_id").is_in(defrauded.unique().implode())
    replayed = old_events.filter(replay)
    feedback = [f for f in (new.feedback, older.feedback if older else None) if f is not None]
    merged = EventLog(
        events=new.events,
        feedback=pl.concat(feedback, how="diagonal_relaxed") if feedback else None,
        source=new.source,
    )
    train = subset(
        merged, pl.concat([replayed, fresh_events], how="diagonal_relaxed"), str(data_dir)
    )

    fps = reviewed_false_positives(data_dir, new) & set(train.events.get_column("event_id"))
    weights: dict[str, float] = {}
    replayed_frauds: list[str] = []
    if config.replay_fraud_weight != 1.0:
        ids = train.events.get_column("event_id")
        is_fraud = train.labels.fill_null(False).to_numpy().astype(bool)
        was_replayed = ids.is_in(replayed.get_column("event_id").implode()).to_numpy()
        replayed_frauds = ids.filter(pl.Series(is_fraud & was_replayed)).to_list()
        weights.update(dict.fromkeys(sorted(replayed_frauds), config.replay_fraud_weight))
    weights.update(dict.fromkeys(sorted(fps), config.false_positive_weight))
    info = {
        "new_events": new.events.height,
        "fresh_training_events": fresh_events.height,
        "replayed_older_events": replayed.height,
        "replayed_older_frauds": int(replayed.get_column("is_fraud").fill_null(False).sum()),
        "older_events": old_events.height,
        "training_events": train.events.height,
        "training_frauds": int(train.labels.fill_null(False).sum()),
        "reviewed_false_positives": len(fps),
        "replayed_frauds_weighted": len(replayed_frauds),
        "label_maturity_hours": round(maturity / 3600, 2),
        "recent_start": datetime.fromtimestamp(recent_start, tz=UTC).isoformat(),
        "recent_end": None
        if np.isinf(recent_end)
        else datetime.fromtimestamp(recent_end, tz=UTC).isoformat(),
        "recent_matured": matured,
        "recent_events": int(in_recent.sum()),
        "training_events_after_recent": int((fresh & (ts > recent_end)).sum()),
    }
    log.info("retrain data %s", " ".join(f"{k}={v}" for k, v in info.items()))
    return RetrainData(train, new, recent_start, weights, info, recent_end)
