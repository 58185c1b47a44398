"""Reading any CSV/Parquet through a YAML column mapping."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from models.data import ColumnMapping, load_event_log, load_mapping
from models.features import MappingError
from schemas.tabular import event_log_schema

DOCS = Path(__file__).resolve().parents[4] / "docs" / "MAPPING.md"

CSV = """\
tx,cust,when,amt,kind,ok,shop,entry,fraud_flag,flagged_at
t3,c1,2026-03-01 10:05:00,,LOGIN,FAIL,,,,
t1,c1,2026-03-01 09:00:00,12.5,PAY,,s1,CHIP,0,
t2,c2,2026-03-01 09:30:00,900,PAY,,s2,WEB,1,2026-03-05 12:00:00
t4,c2,2026-03-01 11:00:00,15,PAY,,s1,UNKNOWN,,
"""

MAPPING = """\
columns:
  event_id: tx
  account_id: cust
  ts: when
  amount: amt
  event_type: kind
  success: ok
  merchant_id: shop
  channel: entry
  label: fraud_flag
  label_ts: flagged_at
timestamp:
  format: "%Y-%m-%d %H:%M:%S"
values:
  event_type: {PAY: transaction, LOGIN: login}
  success: {OK: true, FAIL: false}
  channel: {CHIP: pos, WEB: ecom}
label:
  positive: [1]
constants:
  currency: EUR
"""


def write(tmp_path: Path, csv: str = CSV, mapping: str = MAPPING) -> tuple[Path, Path]:
    data, rules = tmp_path / "export.csv", tmp_path / "mapping.yaml"
    data.write_text(csv)
    rules.write_text(mapping)
    return data, rules


def test_renamed_columns_values_and_labels(tmp_path: Path) -> None:
    log = load_event_log(*write(tmp_path))
    frame = log.events
    assert dict(frame.schema) == event_log_schema()
    assert frame.get_column("event_id").to_list() == ["t1", "t2", "t3", "t4"]  # sorted by ts
    row = {r["event_id"]: r for r in frame.iter_rows(named=True)}
    assert row["t1"]["ts"] == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert row["t1"]["amount"] == 12.5 and row["t1"]["channel"] == "pos"
    assert row["t2"]["channel"] == "ecom" and row["t2"]["currency"] == "EUR"
    assert row["t3"]["event_type"] == "login" and row["t3"]["success"] is False
    assert row["t4"]["channel"] == "unknown"  # kept, read as "not available" by the features
    assert [row[i]["is_fraud"] for i in ("t1", "t2", "t3", "t4")] == [False, True, None, None]
    arrivals = {a.event_id: a for a in log.label_arrivals()}
    assert set(arrivals) == {"t1", "t2"}
    assert arrivals["t2"].arrived == datetime(2026, 3, 5, 12, tzinfo=UTC).timestamp()
    assert arrivals["t2"].merchant_id == "s2" and arrivals["t2"].is_fraud
    # no label time for t1: event time + the default 7 days
    assert arrivals["t1"].arrived == datetime(2026, 3, 8, 9, tzinfo=UTC).timestamp()


def test_missing_optional_columns_are_empty(tmp_path: Path) -> None:
    csv = "id,acct,t,value\na,x,1767225600,10\nb,x,1767225660,20\n"
    mapping = "columns: {event_id: id, account_id: acct, ts: t, amount: value}\n"
    log = load_event_log(*write(tmp_path, csv, mapping))
    frame = log.events
    assert frame.height == 2
    for column in ("merchant_id", "channel", "device_id", "lat", "is_fraud", "success"):
        assert frame.get_column(column).null_count() == 2
    assert frame.get_column("event_type").to_list() == ["transaction", "transaction"]
    assert frame.get_column("ts").to_list()[0] == datetime(2026, 1, 1, tzinfo=UTC)  # epoch s
    assert not log.has_labels and log.label_arrivals() == []
    assert [v.kind for v in log.views()] == [1, 1]


def test_missing_required_column_names_it_and_the_mapping(tmp_path: Path) -> None:
    data, rules = write(tmp_path, mapping=MAPPING.replace("amount: amt", "amount: montant"))
    with pytest.raises(MappingError) as err:
        load_event_log(data, rules)
    message = str(err.value)
    assert "'montant'" in message and "amount" in message and str(rules) in message


def test_required_field_without_mapping_names_the_field(tmp_path: Path) -> None:
    data = tmp_path / "x.csv"
    data.write_text("event_id,account_id,ts\ne1,a1,2026-01-01T00:00:00Z\n")
    with pytest.raises(MappingError, match="required field 'amount'"):
        load_event_log(data)


def test_schema_named_csv_needs_no_mapping(tmp_path: Path) -> None:
    data = tmp_path / "x.csv"
    data.write_text(
        "event_id,account_id,ts,amount,is_fraud\n"
        "e2,a1,2026-01-01T01:00:00+01:00,5,false\n"
        "e1,a1,2026-01-01T00:30:00Z,7,true\n"
    )
    log = load_event_log(data)
    assert log.events.get_column("event_id").to_list() == ["e2", "e1"]  # 00:00Z before 00:30Z
    assert log.labels.to_list() == [False, True]


def test_unreadable_values_are_reported_with_examples(tmp_path: Path) -> None:
    data, rules = write(tmp_path, CSV.replace("2026-03-01 09:30:00", "yesterday"))
    with pytest.raises(MappingError, match=r"'when'.*yesterday"):
        load_event_log(data, rules)
    data, rules = write(tmp_path, CSV.replace(",900,", ",nine hundred,"))
    with pytest.raises(MappingError, match=r"'amt'.*not numbers.*nine hundred"):
        load_event_log(data, rules)


def test_unknown_event_type_and_unknown_mapping_keys(tmp_path: Path) -> None:
    data, rules = write(tmp_path, mapping=MAPPING.replace("LOGIN: login", "LOGIN: signin"))
    with pytest.raises(MappingError, match="signin"):
        load_event_log(data, rules)
    data, rules = write(tmp_path, mapping=MAPPING + "colums: {}\n")
    with pytest.raises(MappingError, match="colums"):
        load_event_log(data, rules)
    data, rules = write(tmp_path, mapping=MAPPING.replace("merchant_id: shop", "merchant: shop"))
    with pytest.raises(MappingError, match="unknown field"):
        load_mapping(rules)


def test_parquet_with_native_types_and_epoch_milliseconds(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "id": [1, 2],
            "who": ["a", "a"],
            "ms": [1_767_225_600_000, 1_767_225_600_500],
            "amt": [1.0, 2.0],
            "bad": [0, 1],
        }
    )
    frame.write_parquet(tmp_path / "log.parquet")
    mapping = ColumnMapping(
        columns={
            "event_id": "id",
            "account_id": "who",
            "ts": "ms",
            "amount": "amt",
            "label": "bad",
        },
        timestamp={"unit": "ms"},
    )
    log = load_event_log(tmp_path / "log.parquet", mapping)
    assert log.events.get_column("event_id").to_list() == ["1", "2"]
    assert log.events.get_column("ts").to_list()[1] == datetime(
        2026, 1, 1, 0, 0, 0, 500_000, tzinfo=UTC
    )
    assert log.labels.to_list() == [False, True]


def test_time_zones_and_origins(tmp_path: Path) -> None:
    csv = "id,acct,t,amt\na,x,2026-03-29 02:30:00,1\n"  # does not exist in Paris (DST)
    mapping = (
        "columns: {event_id: id, account_id: acct, ts: t, amount: amt}\n"
        "timestamp: {format: '%Y-%m-%d %H:%M:%S', timezone: Europe/Paris}\n"
    )
    with pytest.raises(MappingError, match="exist in Europe/Paris"):
        load_event_log(*write(tmp_path, csv, mapping))
    with pytest.raises(MappingError, match="Mars/Olympus"):
        load_event_log(*write(tmp_path, csv, mapping.replace("Europe/Paris", "Mars/Olympus")))
    csv = "id,acct,t,amt\na,x,86400,1\n"  # one day after the origin
    mapping = (
        "columns: {event_id: id, account_id: acct, ts: t, amount: amt}\n"
        "timestamp: {origin: '2017-12-01T00:00:00'}\n"
    )
    log = load_event_log(*write(tmp_path, csv, mapping))
    assert log.events.get_column("ts").to_list() == [datetime(2017, 12, 2, tzinfo=UTC)]


def test_docs_example_loads(tmp_path: Path) -> None:
    text = DOCS.read_text()
    csv = re.search(r"```csv\n(.*?)```", text, re.S)
    yaml_ = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert csv and yaml_
    log = load_event_log(*write(tmp_path, csv.group(1), yaml_.group(1)))
    rows = log.events.to_dicts()
    assert [r["channel"] for r in rows] == ["pos", "ecom"]
    assert rows[0]["ts"] == datetime(2025, 11, 3, 13, 2, tzinfo=UTC)  # Paris is UTC+1
    assert log.labels.to_list() == [False, True]
    assert rows[1]["device_id"] is None and rows[0]["currency"] == "EUR"
    arrival = next(a for a in log.label_arrivals() if a.is_fraud)
    assert arrival.arrived == datetime(2025, 11, 21, 8, tzinfo=UTC).timestamp()
