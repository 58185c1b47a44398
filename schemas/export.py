"""JSON Schema export for producers in other languages (``fraudstream schemas export``)."""

from __future__ import annotations

import json
from pathlib import Path

from schemas.records import RECORD_TYPES

JSON_DIR = Path(__file__).resolve().parent / "json"


def render_schemas() -> dict[str, str]:
    """File name -> JSON Schema text for every record type (deterministic)."""
    out: dict[str, str] = {}
    for name, cls in RECORD_TYPES.items():
        schema = cls.model_json_schema(mode="validation")
        schema["$id"] = f"urn:fraudstream:schema:{name}"
        schema["x-topic"] = cls.topic
        out[f"{name}.schema.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


def export_schemas(directory: Path = JSON_DIR) -> list[Path]:
    """Write the JSON Schema files into ``directory``; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, text in render_schemas().items():
        path = directory / file_name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale_schemas(directory: Path = JSON_DIR) -> list[str]:
    """Names of the files in ``directory`` that differ from what the models generate."""
    stale = []
    for file_name, text in render_schemas().items():
        path = directory / file_name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(file_name)
    return stale
