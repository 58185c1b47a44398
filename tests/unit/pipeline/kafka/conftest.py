"""Fake ``java`` and ``mvn`` on a PATH of their own, so no test here needs a JVM or network."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.settings import Settings


@pytest.fixture
def fake_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], Path]:
    """Replace PATH by an empty folder; ``fake_bin(name, script)`` puts a program in it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("JAVA_HOME", raising=False)

    def add(name: str, script: str) -> Path:
        path = bin_dir / name
        path.write_text(script)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
        return path

    return add


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")
