"""Java and Maven discovery and the jar fetch, with fake programs on PATH."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.kafka import runtime
from pipeline.kafka.exceptions import JarFetchError, JavaMissingError, MavenMissingError
from tests.unit.pipeline.kafka.fakes import FAKE_JAVA, FAKE_MVN_FAIL, FAKE_MVN_OK

FakeBin = Callable[[str, str], Path]


@pytest.fixture
def pom(tmp_path: Path) -> Path:
    path = tmp_path / "pom.xml"
    path.write_text("<project>v1</project>\n")
    return path


def test_no_java_on_path_says_what_to_install(fake_bin: FakeBin) -> None:
    with pytest.raises(JavaMissingError, match=r"`java` not found.*Java 17"):
        runtime.find_java()


def test_old_java_is_refused(fake_bin: FakeBin) -> None:
    fake_bin("java", FAKE_JAVA.format(version="11.0.2"))
    with pytest.raises(JavaMissingError, match="is Java 11"):
        runtime.find_java()


def test_legacy_version_string_reads_as_java_8(fake_bin: FakeBin) -> None:
    java = fake_bin("java", FAKE_JAVA.format(version="1.8.0_392"))
    assert runtime.java_major_version(str(java)) == 8


def test_java_home_wins_over_path(
    fake_bin: FakeBin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_bin("java", FAKE_JAVA.format(version="11.0.2"))
    home = tmp_path / "jdk"
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text(FAKE_JAVA.format(version="21.0.1"))
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(home))
    assert runtime.find_java() == str(java)


def test_no_mvn_on_path_is_refused(fake_bin: FakeBin, tmp_path: Path, pom: Path) -> None:
    fake_bin("java", FAKE_JAVA.format(version="17.0.15"))
    with pytest.raises(MavenMissingError, match="`mvn` not found"):
        runtime.ensure_jars(tmp_path / "libs", pom)


def test_fetch_once_then_reuse(fake_bin: FakeBin, tmp_path: Path, pom: Path) -> None:
    fake_bin("java", FAKE_JAVA.format(version="17.0.15"))
    fake_bin("mvn", FAKE_MVN_OK)
    libs = tmp_path / "libs"
    assert runtime.ensure_jars(libs, pom) is True
    assert (libs / "kafka_2.13-4.1.1.jar").is_file()
    assert runtime.jars_ready(libs, pom)
    assert runtime.ensure_jars(libs, pom) is False
    calls = (tmp_path / "mvn-calls").read_text().splitlines()
    assert len(calls) == 1
    assert "dependency:copy-dependencies" in calls[0]
    assert "-DincludeScope=runtime" in calls[0]


def test_changed_pom_fetches_again_without_stale_jars(
    fake_bin: FakeBin, tmp_path: Path, pom: Path
) -> None:
    fake_bin("java", FAKE_JAVA.format(version="17.0.15"))
    fake_bin("mvn", FAKE_MVN_OK)
    libs = tmp_path / "libs"
    runtime.ensure_jars(libs, pom)
    (libs / "kafka-clients-3.9.0.jar").write_text("old")
    pom.write_text("<project>v2</project>\n")
    assert not runtime.jars_ready(libs, pom)
    assert runtime.ensure_jars(libs, pom) is True
    assert not (libs / "kafka-clients-3.9.0.jar").exists()


def test_failed_fetch_shows_maven_output(fake_bin: FakeBin, tmp_path: Path, pom: Path) -> None:
    fake_bin("java", FAKE_JAVA.format(version="17.0.15"))
    fake_bin("mvn", FAKE_MVN_FAIL)
    libs = tmp_path / "libs"
    with pytest.raises(JarFetchError, match=r"(?s)exit 1.*Could not resolve dependencies"):
        runtime.ensure_jars(libs, pom)
    assert not runtime.jars_ready(libs, pom)
