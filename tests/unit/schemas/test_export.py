"""JSON Schema files for other-language producers stay in sync with the models."""

from __future__ import annotations

import json
from pathlib import Path

from schemas import RECORD_TYPES
from schemas.export import JSON_DIR, export_schemas, stale_schemas


def test_committed_json_schemas_are_up_to_date() -> None:
    assert stale_schemas() == [], "run `fraudstream schemas export` and commit schemas/json"


def test_stale_file_is_detected(tmp_path: Path) -> None:
    export_schemas(tmp_path)
    assert stale_schemas(tmp_path) == []
    target = tmp_path / "transaction.schema.json"
    schema = json.loads(target.read_text())
    schema["required"].remove("amount")
    target.write_text(json.dumps(schema))
    assert stale_schemas(tmp_path) == ["transaction.schema.json"]


def test_every_record_type_has_a_schema_file_naming_its_topic() -> None:
    for name, cls in RECORD_TYPES.items():
        schema = json.loads((JSON_DIR / f"{name}.schema.json").read_text())
        assert schema["x-topic"] == cls.topic
        assert set(schema["properties"]) == set(cls.model_fields)
