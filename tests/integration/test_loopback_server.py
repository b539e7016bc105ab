"""The loopback-server base the local runs' and the tests' fake endpoints share (`functions.local_runner.loopback`)."""

from __future__ import annotations

import urllib.error
import urllib.request
from email.message import Message
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from functions.local_runner.loopback import LoopbackServer, json_body, send, send_json, sigv4_signed


class _Echo(LoopbackServer):
    """Answers each request with what it received, as JSON, and one header of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[tuple[str, str, bytes]] = []

    def handle(self, http: BaseHTTPRequestHandler, body: bytes) -> None:
        self.received.append((http.command, http.path, body))
        answer = {
            "method": http.command,
            "path": http.path,
            "body": json_body(body),
            "signed": sigv4_signed(http.headers),
        }
        send_json(http, 201, answer, headers={"X-Echo": "yes"})


# No proxy from the environment: these requests go to 127.0.0.1 directly.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _request(url: str, method: str, body: bytes | None = None, **headers: str) -> tuple[int, Any, Any]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with _DIRECT.open(request, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_a_server_listens_on_loopback_at_its_own_port_and_hands_the_body_to_handle() -> None:
    # Given two servers running at once
    with _Echo() as first, _Echo() as second:
        # Then each is on 127.0.0.1, at a port of its own
        assert first.url.startswith("http://127.0.0.1:") and second.url.startswith("http://127.0.0.1:")
        assert first.url != second.url

        # When one receives a signed JSON POST
        status, headers, data = _request(
            f"{first.url}/some/path", "POST", b'{"a": 1}', Authorization="AWS4-HMAC-SHA256 Credential=x"
        )

    # Then `handle` got the method, the path and the whole body, and its answer went back as sent
    assert first.received == [("POST", "/some/path", b'{"a": 1}')] and second.received == []
    assert status == 201 and headers["X-Echo"] == "yes" and headers["Content-Type"] == "application/json"
    assert data == b'{"method": "POST", "path": "/some/path", "body": {"a": 1}, "signed": true}'
    assert int(headers["Content-Length"]) == len(data)


def test_only_the_methods_a_server_names_reach_handle() -> None:
    with _Echo() as server:
        status, _, _ = _request(server.url, "GET")
    assert status == 501 and server.received == []


def test_a_stopped_server_accepts_no_more_connections() -> None:
    server = _Echo().start()
    url = server.url
    assert _request(url, "POST", b"")[0] == 201
    server.stop()
    with pytest.raises(urllib.error.URLError):
        _request(url, "POST", b"")


def test_an_unsigned_request_is_told_apart_from_a_sigv4_one() -> None:
    def headers(**values: str) -> Message:
        message = Message()
        for name, value in values.items():
            message[name] = value
        return message

    assert sigv4_signed(headers(Authorization="AWS4-HMAC-SHA256 Credential=AKID/20261125/us-east-1/s3/aws4_request"))
    assert sigv4_signed(headers(authorization="AWS4-HMAC-SHA256 Credential=x"))  # header names ignore case
    assert not sigv4_signed(headers(Authorization="Bearer xoxb-token"))
    assert not sigv4_signed(headers())


def test_an_empty_body_is_an_empty_object_and_a_body_that_is_not_json_is_an_error() -> None:
    assert json_body(b"") == {}
    assert json_body(b"[1, 2]") == [1, 2]
    with pytest.raises(ValueError):
        json_body(b"not json")


def test_send_writes_content_type_and_length_before_the_headers_given() -> None:
    class _Plain(LoopbackServer):
        def handle(self, http: BaseHTTPRequestHandler, body: bytes) -> None:
            send(http, 429, b"rate_limited", content_type="text/html", headers={"Retry-After": "1"})

    with _Plain() as server:
        status, headers, data = _request(server.url, "POST", b"{}")
    assert (status, data) == (429, b"rate_limited")
    assert [name for name in headers if name in ("Content-Type", "Content-Length", "Retry-After")] == [
        "Content-Type",
        "Content-Length",
        "Retry-After",
    ]
