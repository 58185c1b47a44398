"""server.properties rendering, the data dir layout and cluster ids."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from pipeline.kafka.config import BrokerLayout, InfraFiles, new_cluster_id, render_server_properties
from pipeline.kafka.exceptions import BrokerError


def parse_properties(text: str) -> dict[str, str]:
    props = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            props[key.strip()] = value.strip()
    return props


@pytest.fixture
def rendered(tmp_path: Path) -> dict[str, str]:
    template = InfraFiles.locate().server_template.read_text()
    text = render_server_properties(
        template, port=19092, controller_port=19093, log_dirs=tmp_path / "kraft", partitions=6
    )
    assert "${" not in text
    return parse_properties(text)


def test_renders_a_combined_kraft_node(rendered: dict[str, str]) -> None:
    assert rendered["process.roles"] == "broker,controller"
    assert rendered["node.id"] == "1"
    assert rendered["controller.listener.names"] == "CONTROLLER"
    assert "controller.quorum.voters" not in rendered  # formatted --standalone instead


def test_renders_ports_and_dirs(rendered: dict[str, str], tmp_path: Path) -> None:
    assert rendered["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert rendered["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert rendered["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert rendered["log.dirs"] == (tmp_path / "kraft").as_posix()
    assert rendered["num.partitions"] == "6"


def test_renders_single_node_safety_settings(rendered: dict[str, str]) -> None:
    assert rendered["auto.create.topics.enable"] == "false"
    assert rendered["group.initial.rebalance.delay.ms"] == "0"
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "share.coordinator.state.topic.replication.factor",
    ):
        assert rendered[key] == "1", key


def test_refuses_one_port_for_broker_and_controller(tmp_path: Path) -> None:
    with pytest.raises(BrokerError, match="two ports"):
        render_server_properties(
            "listeners=${port}", port=9092, controller_port=9092, log_dirs=tmp_path, partitions=1
        )


def test_unknown_placeholder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BrokerError, match="placeholder"):
        render_server_properties(
            "x=${nope}", port=1, controller_port=2, log_dirs=tmp_path, partitions=1
        )


def test_infra_files_missing_say_where(tmp_path: Path) -> None:
    with pytest.raises(BrokerError, match=r"pom\.xml.*source checkout"):
        InfraFiles.locate(tmp_path)


def test_infra_files_of_the_repo_exist() -> None:
    infra = InfraFiles.locate()
    assert infra.pom.is_file() and infra.log4j_config.is_file()
    assert "kafka_2.13" in infra.pom.read_text()


def test_layout_keeps_everything_under_the_data_dir(tmp_path: Path) -> None:
    layout = BrokerLayout(tmp_path)
    for path in (layout.log_dirs, layout.config_file, layout.run_file, layout.server_log):
        assert tmp_path in path.parents
    assert not layout.is_formatted()
    layout.log_dirs.mkdir()
    (layout.log_dirs / "meta.properties").write_text("version=1\n")
    assert layout.is_formatted()


def test_cluster_ids_are_kafka_uuids() -> None:
    ids = {new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    for cid in ids:
        assert len(cid) == 22 and not cid.startswith("-")
        assert len(base64.urlsafe_b64decode(cid + "==")) == 16
