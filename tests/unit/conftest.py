"""Unit tests open no sockets: they test plain code with fakes. A test that needs a server (moto in server mode,
a loopback Slack or Bedrock) belongs in tests/integration/ or tests/statemachine/."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest


class SocketUsedInUnitTestError(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(self: socket.socket, *args: Any, **kwargs: Any) -> Any:
        raise SocketUsedInUnitTestError(f"unit tests open no sockets (tried {args!r}); move this test to integration")

    for name in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, name, refuse)
    yield
