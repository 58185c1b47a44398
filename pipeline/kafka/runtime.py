"""What the local broker needs on this host: a Java 17+ runtime, and its jars, fetched by Maven."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

from pipeline.kafka.exceptions import JarFetchError, JavaMissingError, MavenMissingError

log = logging.getLogger(__name__)

MIN_JAVA = 17
FETCH_TIMEOUT_S = 900.0
COMPLETE_MARKER = ".complete"  # holds the sha256 of the pom the jars were fetched with
_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')


def find_java() -> str:
    """Path of a ``java`` of version 17 or newer: ``$JAVA_HOME/bin/java``, else the PATH."""
    java_home = os.environ.get("JAVA_HOME")
    candidate = Path(java_home) / "bin" / "java" if java_home else None
    java = str(candidate) if candidate and candidate.is_file() else shutil.which("java")
    if java is None:
        raise JavaMissingError(
            f"`java` not found (JAVA_HOME unset or wrong, none on PATH); the local Kafka broker "
            f"needs Java {MIN_JAVA}+, e.g. `apt-get install openjdk-17-jre-headless`"
        )
    major = java_major_version(java)
    if major < MIN_JAVA:
        raise JavaMissingError(
            f"{java} is Java {major}; Kafka 4 needs Java {MIN_JAVA}+ — install one and put it "
            f"first on PATH or set JAVA_HOME"
        )
    return java


def java_major_version(java: str) -> int:
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError) as err:
        raise JavaMissingError(f"`{java} -version` failed ({err}); check the Java install") from err
    match = _VERSION.search(out.stderr + out.stdout)
    if match is None:
        raise JavaMissingError(f"cannot read the version of {java}: {out.stderr.strip()[:200]}")
    major, minor = int(match.group(1)), int(match.group(2) or 0)
    return minor if major == 1 else major  # "1.8.0" is Java 8


def find_maven() -> str:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MavenMissingError(
            "`mvn` not found on PATH; it fetches the Kafka jars once (e.g. `apt-get install "
            "maven`), or copy the jars of a Kafka 4 distribution's libs/ into the libs folder"
        )
    return mvn


def pom_digest(pom: Path) -> str:
    return hashlib.sha256(pom.read_bytes()).hexdigest()


def jars_ready(libs_dir: Path, pom: Path) -> bool:
    """True when ``libs_dir`` holds a complete fetch made with this very pom."""
    marker = libs_dir / COMPLETE_MARKER
    return marker.is_file() and marker.read_text().strip() == pom_digest(pom)


def fetch_jars(libs_dir: Path, pom: Path, timeout_s: float = FETCH_TIMEOUT_S) -> None:
    """Run Maven's copy-dependencies into ``libs_dir``, replacing the jars of an older pom."""
    mvn = find_maven()
    find_java()  # Maven itself needs a JVM; say so plainly rather than through mvn's output
    libs_dir.mkdir(parents=True, exist_ok=True)
    for stale in libs_dir.glob("*.jar"):
        stale.unlink()
    (libs_dir / COMPLETE_MARKER).unlink(missing_ok=True)
    cmd = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={libs_dir}",
        "-DincludeScope=runtime",
    ]
    log.info("fetching kafka jars pom=%s libs=%s", pom, libs_dir)
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as err:
        raise JarFetchError(
            f"mvn did not finish within {timeout_s:.0f}s; check access to Maven Central"
        ) from err
    if out.returncode != 0:
        tail = "\n".join((out.stdout + out.stderr).strip().splitlines()[-5:])
        raise JarFetchError(
            f"mvn could not fetch the Kafka jars (exit {out.returncode}); check access to "
            f"Maven Central and {pom}. Last lines:\n{tail}"
        )
    if not any(libs_dir.glob("kafka_2.13-*.jar")):
        raise JarFetchError(f"mvn succeeded but {libs_dir} has no kafka_2.13 jar; check {pom}")
    (libs_dir / COMPLETE_MARKER).write_text(pom_digest(pom) + "\n")
    log.info("kafka jars ready libs=%s jars=%d", libs_dir, len(list(libs_dir.glob("*.jar"))))


def ensure_jars(libs_dir: Path, pom: Path) -> bool:
    """Fetch the jars unless a complete fetch for this pom is there; True when it fetched.

    A lock file beside ``libs_dir`` keeps two processes (two test sessions, a test session
    and ``kafka up``) from fetching into the same folder at once.
    """
    if jars_ready(libs_dir, pom):
        return False
    libs_dir.parent.mkdir(parents=True, exist_ok=True)
    with (libs_dir.parent / f"{libs_dir.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if jars_ready(libs_dir, pom):  # another process fetched while this one waited
            return False
        fetch_jars(libs_dir, pom)
    return True
