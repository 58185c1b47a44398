"""The analyst guard's statistics, on hand-built label tables (no GX run)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from data_quality import GateConfig
from data_quality.analysts import (
    FRAUD_RATE_Z,
    FRAUD_TO_GENUINE_SHARE,
    analyst_table,
    label_share_limit,
)
from data_quality.loading import Table
from schemas.tabular import feedback_schema

TS = datetime(2025, 2, 1, tzinfo=UTC)


def _feedback(rows: list[tuple[str, str, str, str | None]]) -> Table:
    """(event_id, label, source, analyst_id) rows as a feedback table."""
    frame = pl.DataFrame(
        [
            {"event_id": e, "account_id": "a", "ts": TS, "label": lab, "source": s, "analyst_id": a}
            for e, lab, s, a in rows
        ],
        schema={k: v for k, v in feedback_schema().items() if k not in ("merchant_id", "note")},
    )
    return Table("feedback", frame, pl.DataFrame(), ())


def _team(rates: dict[str, float], n: int) -> list[tuple[str, str, str, str | None]]:
    rows = []
    for analyst, rate in rates.items():
        fraud = round(rate * n)
        rows += [
            (f"{analyst}-{i}", "fraud" if i < fraud else "genuine", "analyst", analyst)
            for i in range(n)
        ]
    return rows


def _z(table: pl.DataFrame) -> dict[str, float]:
    return dict(table.select("analyst_id", FRAUD_RATE_Z).iter_rows())


def test_a_heterogeneous_honest_team_is_not_flagged_but_a_flipper_is() -> None:
    honest = {f"an-{i}": r for i, r in enumerate([0.05, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25])}
    table = analyst_table(_feedback(_team(honest, 200)), GateConfig())
    assert table is not None
    assert all(abs(z) <= 4 for z in _z(table).values())

    flipped = analyst_table(_feedback(_team(honest | {"rogue": 0.9}, 200)), GateConfig())
    assert flipped is not None
    z = _z(flipped)
    assert z["rogue"] > 4
    assert all(abs(v) <= 4 for k, v in z.items() if k != "rogue")


def test_an_analyst_who_hides_fraud_is_flagged_by_rate_and_disagreements() -> None:
    team = _team({f"an-{i}": 0.3 for i in range(6)} | {"hider": 0.0}, 100)
    # the hider's genuine verdicts on twenty events that chargebacks call fraud
    team += [(f"hider-{i}", "fraud", "chargeback", None) for i in range(20)]
    table = analyst_table(_feedback(team), GateConfig())
    assert table is not None
    assert _z(table)["hider"] < -4
    shares = dict(table.select("analyst_id", FRAUD_TO_GENUINE_SHARE).iter_rows())
    assert shares["hider"] == 1.0 and shares["an-0"] == 0.0


def test_small_samples_are_not_rate_tested() -> None:
    table = analyst_table(_feedback(_team({"a": 0.0, "b": 0.0, "c": 1.0}, 10)), GateConfig())
    assert table is not None
    assert table.get_column(FRAUD_RATE_Z).null_count() == 3


def test_label_share_limit_scales_with_the_team() -> None:
    config = GateConfig()
    twelve = pl.DataFrame({"labels": [50] * 12})
    two = pl.DataFrame({"labels": [50] * 2})
    assert label_share_limit(twelve, config) == config.max_analyst_label_share
    assert label_share_limit(two, config) == 1.0
