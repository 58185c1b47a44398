"""The model registry: versions, the atomic current pointer, integrity checks."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from models.exceptions import ModelIntegrityError, RegistryError
from models.manifest import Manifest, Thresholds
from models.registry import CURRENT_FILE, MANIFEST_FILE, MODEL_FILE, Registry
from schemas.features import FeatureSpec


def manifest(**fields: object) -> Manifest:
    cut = Thresholds(review=0.5, block=0.9)
    return Manifest.for_spec(
        FeatureSpec(),
        kind="baseline",
        inputs=["features"],
        thresholds={"transaction": cut, "login": cut},
        **fields,
    )


def build(tmp_path: Path, payload: bytes = b"onnx bytes", name: str = "build") -> Path:
    folder = tmp_path / name
    (folder / "vocab").mkdir(parents=True)
    (folder / MODEL_FILE).write_bytes(payload)
    (folder / "MODEL_CARD.md").write_text("# card")
    (folder / "vocab" / "tokens.txt").write_text("a\nb\n")
    (folder / MANIFEST_FILE).write_text("stale, replaced on registration")
    return folder


def test_register_copies_the_build_and_fills_version_and_sha(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "reg")
    assert registry.versions() == [] and registry.current() is None
    version = registry.register(build(tmp_path, b"model-1"), manifest())
    assert version.startswith("v0001-baseline-")
    folder = registry.path(version)
    assert (folder / "vocab" / "tokens.txt").read_text() == "a\nb\n"
    assert (folder / "MODEL_CARD.md").exists()
    stored = registry.manifest(version)
    assert stored.version == version
    assert stored.sha256 == hashlib.sha256(b"model-1").hexdigest()
    assert stored.feature_set_hash == FeatureSpec().hash()
    assert json.loads((folder / MANIFEST_FILE).read_text())["thresholds"]["login"] == {
        "review": 0.5,
        "block": 0.9,
    }
    assert registry.current() is None  # registering does not promote


def test_versions_are_numbered_and_listed_in_order(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "reg")
    versions = [
        registry.register(build(tmp_path, bytes([i]), f"b{i}"), manifest(parent_version=None))
        for i in range(3)
    ]
    assert [v.split("-")[0] for v in versions] == ["v0001", "v0002", "v0003"]
    assert registry.versions() == versions
    model = tmp_path / "loose.onnx"
    model.write_bytes(b"x")
    fourth = registry.register([model.rename(tmp_path / MODEL_FILE)], manifest())
    assert fourth.startswith("v0004-") and registry.versions()[-1] == fourth
    assert not [p for p in (tmp_path / "reg").iterdir() if p.name.startswith(".")]


def test_promote_moves_the_pointer_atomically(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "reg")
    first = registry.register(build(tmp_path, b"1", "a"), manifest())
    second = registry.register(build(tmp_path, b"2", "b"), manifest(parent_version=first))
    registry.promote(first)
    assert registry.current() == first
    assert (tmp_path / "reg" / CURRENT_FILE).read_text() == first + "\n"
    registry.promote(second)
    assert registry.current() == second
    assert registry.manifest(second).parent_version == first


def test_a_failed_pointer_write_leaves_the_old_pointer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = Registry(tmp_path / "reg")
    first = registry.register(build(tmp_path, b"1", "a"), manifest())
    second = registry.register(build(tmp_path, b"2", "b"), manifest())
    registry.promote(first)

    def crash(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        registry.promote(second)
    monkeypatch.undo()
    assert registry.current() == first
    assert sorted(p.name for p in (tmp_path / "reg").iterdir()) == sorted(
        [CURRENT_FILE, first, second]
    )


def test_tampered_model_is_refused(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "reg")
    version = registry.register(build(tmp_path, b"good"), manifest())
    assert registry.verify(version).version == version
    registry.model_path(version).write_bytes(b"evil")
    with pytest.raises(ModelIntegrityError, match="sha256"):
        registry.verify(version)
    with pytest.raises(ModelIntegrityError):
        registry.promote(version)
    registry.model_path(version).unlink()
    with pytest.raises(ModelIntegrityError, match="missing"):
        registry.verify(version)


def test_bad_requests_say_what_is_wrong(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "reg")
    with pytest.raises(RegistryError, match="no model has been promoted"):
        registry.resolve()
    with pytest.raises(RegistryError, match="not in"):
        registry.resolve("v0042-baseline-20260101T0000")
    with pytest.raises(RegistryError, match="not a valid"):
        registry.path("../escape")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RegistryError, match=MODEL_FILE):
        registry.register(empty, manifest())
    registry.root.mkdir()
    (registry.root / CURRENT_FILE).write_text("v0009-gone\n")
    with pytest.raises(RegistryError, match="v0009-gone"):
        registry.current()


def test_update_record_points_workers_at_the_version(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "reg")
    version = registry.register(build(tmp_path, b"m"), manifest(metrics={"test_roc_auc": 0.9}))
    update = registry.update_record(version)
    assert update.version == version
    assert update.sha256 == hashlib.sha256(b"m").hexdigest()
    assert update.metrics == {"test_roc_auc": 0.9}
    folder = Path(update.uri.removeprefix("file://"))
    assert folder == registry.path(version).resolve()
    assert Registry(folder.parent).verify(folder.name).version == version


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="below review"):
        Thresholds(review=0.9, block=0.5)
