"""Port probing: a listening socket counts as taken, a free port does not."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from pipeline.kafka.ports import accepts_connections, free_port, port_in_use


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_listening_port_is_in_use(listening: int) -> None:
    assert port_in_use(listening)
    assert accepts_connections("127.0.0.1", listening)


def test_free_port_is_free() -> None:
    port = free_port()
    assert not port_in_use(port)
    assert not accepts_connections("127.0.0.1", port, timeout_s=0.2)
