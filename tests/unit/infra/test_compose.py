"""infra/docker-compose.yml: its shape here, and `docker compose config` where Compose exists."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml

from schemas import ALL_TOPICS

REPO = Path(__file__).resolve().parents[3]
COMPOSE = REPO / "infra" / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def _compose_available() -> tuple[bool, str]:
    if shutil.which("docker") is None:
        return False, "no docker client on PATH"
    probe = subprocess.run(
        ["docker", "compose", "version"], capture_output=True, text=True, timeout=30, check=False
    )
    if probe.returncode != 0:
        return False, f"`docker compose version` exited {probe.returncode}: no Compose plugin"
    return True, ""


def test_kafka_is_official_apache_4x_in_kraft(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    image, _, tag = kafka["image"].partition(":")
    assert image == "apache/kafka" and tag.startswith("4.")
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert "healthcheck" in kafka


def test_compose_runs_the_kafka_version_of_the_pom(compose: dict[str, Any]) -> None:
    pom = ElementTree.parse(REPO / "infra" / "kafka" / "pom.xml")
    version = pom.findtext(
        "{http://maven.apache.org/POM/4.0.0}properties/"
        "{http://maven.apache.org/POM/4.0.0}kafka.version"
    )
    assert compose["services"]["kafka"]["image"] == f"apache/kafka:{version}"


def test_topic_init_uses_the_cli_so_topic_names_are_not_retyped(compose: dict[str, Any]) -> None:
    init = compose["services"]["topic-init"]
    assert init["command"] == ["topics", "create"]
    assert init["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert not any(topic in COMPOSE.read_text() for topic in ALL_TOPICS)


def test_simulator_targets_the_compose_broker(compose: dict[str, Any]) -> None:
    sim = compose["services"]["simulator"]
    assert sim["build"]["dockerfile"] == "infra/Dockerfile"
    assert sim["environment"]["FRAUDSTREAM_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert sim["command"][:3] == ["simulate", "--to", "kafka"]
    assert sim["depends_on"]["topic-init"]["condition"] == "service_completed_successfully"
    dockerfile = (REPO / "infra" / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert 'ENTRYPOINT ["fraudstream"]' in dockerfile


def test_docker_compose_config_accepts_the_file() -> None:
    available, reason = _compose_available()
    if not available:
        pytest.skip(reason)
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
