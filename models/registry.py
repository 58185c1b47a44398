"""The model registry: versioned folders of ``model.onnx`` + ``manifest.json``, and a pointer.

Layout::

    <root>/
      current                         # one line: the promoted version
      v0001-baseline-20261129T1830/
        model.onnx
        manifest.json                 # models.manifest.Manifest, with the file's sha256
        …                             # anything else the trainer left (model card, vocab)

A version folder is written under a temporary name and renamed into place, and ``current``
is replaced with ``os.replace``, so a reader never sees half a version or half a pointer.
Versions are immutable once registered.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from models.exceptions import ModelIntegrityError, RegistryError
from models.manifest import Manifest
from schemas import ModelUpdate

log = logging.getLogger(__name__)

MODEL_FILE = "model.onnx"
MANIFEST_FILE = "manifest.json"
CURRENT_FILE = "current"
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_NUMBERED = re.compile(r"^v(\d+)-")
_MAX_RACES = 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _number(version: str) -> int:
    match = _NUMBERED.match(version)
    return int(match.group(1)) if match else 0


class Registry:
    """A model registry directory (the CLI passes ``settings.registry_dir``)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"Registry({str(self.root)!r})"

    # ---- reading ----
    def path(self, version: str) -> Path:
        if not _VERSION.match(version):
            raise RegistryError(f"{version!r} is not a valid model version name")
        return self.root / version

    def versions(self) -> list[str]:
        """Registered versions, oldest first."""
        if not self.root.is_dir():
            return []
        found = [
            p.name
            for p in self.root.iterdir()
            if p.is_dir() and _VERSION.match(p.name) and (p / MANIFEST_FILE).is_file()
        ]
        return sorted(found, key=lambda v: (_number(v), v))

    def current(self) -> str | None:
        """The promoted version, or None when nothing was promoted yet."""
        pointer = self.root / CURRENT_FILE
        try:
            version = pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        if not version:
            return None
        if not (self.path(version) / MANIFEST_FILE).is_file():
            raise RegistryError(
                f"{pointer} points to {version!r}, which is not in the registry; "
                "promote an existing version (`Registry.promote`)"
            )
        return version

    def resolve(self, version: str | None = None) -> str:
        """``version`` if given and registered, else the current one."""
        if version is None:
            version = self.current()
            if version is None:
                raise RegistryError(
                    f"no model has been promoted in {self.root}; "
                    "train one first (`fraudstream train --model baseline --data DIR`)"
                )
        if not (self.path(version) / MANIFEST_FILE).is_file():
            raise RegistryError(
                f"model version {version!r} is not in {self.root} "
                f"(known: {', '.join(self.versions()) or 'none'})"
            )
        return version

    def manifest(self, version: str) -> Manifest:
        path = self.path(version) / MANIFEST_FILE
        try:
            return Manifest.from_json(path.read_bytes())
        except FileNotFoundError as err:
            raise RegistryError(f"model version {version!r} is not in {self.root}") from err
        except ValueError as err:
            raise ModelIntegrityError(f"{path} is not a valid manifest: {err}") from err

    def model_path(self, version: str) -> Path:
        return self.path(version) / MODEL_FILE

    def verify(self, version: str) -> Manifest:
        """Check model.onnx against the manifest's sha256; returns the manifest."""
        return self.read_verified(version)[0]

    def read_verified(self, version: str) -> tuple[Manifest, bytes]:
        """The manifest and the model bytes, checked against each other (read once, so the
        bytes a caller loads are the bytes that were verified)."""
        manifest = self.manifest(version)
        model = self.model_path(version)
        try:
            data = model.read_bytes()
        except FileNotFoundError as err:
            raise ModelIntegrityError(f"{model} is missing; re-register version {version}") from err
        actual = hashlib.sha256(data).hexdigest()
        if actual != manifest.sha256:
            raise ModelIntegrityError(
                f"{model} has sha256 {actual[:12]}…, its manifest says "
                f"{manifest.sha256[:12] or '(none)'}…: the file was changed or partly copied; "
                "re-register the model or promote another version"
            )
        return manifest, data

    def update_record(self, version: str, promoted_at: datetime | None = None) -> ModelUpdate:
        """The ``fraud.model-updates.v1`` record announcing ``version`` to the workers."""
        manifest = self.verify(version)
        return ModelUpdate(
            version=version,
            uri=self.path(version).resolve().as_uri(),
            sha256=manifest.sha256,
            promoted_at=promoted_at or datetime.now(UTC),
            metrics=manifest.metrics,
        )

    # ---- writing ----
    def register(self, source: Path | Sequence[Path], manifest: Manifest) -> str:
        """Copy a build (a folder, or a list of files) in as a new version; returns its name.

        The build must hold ``model.onnx``; any ``manifest.json`` in it is replaced by
        ``manifest`` with ``version`` and ``sha256`` filled in.
        """
        files = self._files_of(source)
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=self.root))
        try:
            for src, rel in files:
                dst = staging / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
            digest = sha256_of(staging / MODEL_FILE)
            stamp = manifest.created_at.astimezone(UTC).strftime("%Y%m%dT%H%M")
            for attempt in range(_MAX_RACES):
                number = max((_number(v) for v in self.versions()), default=0) + 1 + attempt
                version = f"v{number:04d}-{manifest.kind}-{stamp}"
                final = manifest.model_copy(update={"version": version, "sha256": digest})
                (staging / MANIFEST_FILE).write_text(final.to_json(), encoding="utf-8")
                try:
                    staging.rename(self.root / version)  # atomic; fails if it exists
                except OSError:
                    if (self.root / version).exists():
                        continue  # another writer took this number
                    raise
                log.info("model registered version=%s sha256=%s", version, digest[:12])
                return version
            raise RegistryError(f"could not allocate a version number in {self.root}")
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    def promote(self, version: str) -> None:
        """Point ``current`` at ``version`` (verified first), atomically."""
        self.verify(version)
        previous = self.current()
        fd, tmp = tempfile.mkstemp(prefix=".current-", dir=self.root)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(version + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.root / CURRENT_FILE)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        log.info("model promoted version=%s previous=%s", version, previous)

    @staticmethod
    def _files_of(source: Path | Sequence[Path]) -> list[tuple[Path, Path]]:
        if isinstance(source, str | os.PathLike):
            folder = Path(source)
            if not folder.is_dir():
                raise RegistryError(f"{folder} is not a folder of model files")
            pairs = [(p, p.relative_to(folder)) for p in sorted(folder.rglob("*")) if p.is_file()]
        else:
            pairs = [(Path(p), Path(Path(p).name)) for p in source]
        pairs = [(src, rel) for src, rel in pairs if rel != Path(MANIFEST_FILE)]
        missing = [str(src) for src, _ in pairs if not src.is_file()]
        if missing:
            raise RegistryError(f"cannot register missing files: {', '.join(missing)}")
        if Path(MODEL_FILE) not in {rel for _, rel in pairs}:
            raise RegistryError(f"a model build must contain {MODEL_FILE}; got {source}")
        return pairs
