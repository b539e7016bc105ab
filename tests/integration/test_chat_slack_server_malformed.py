"""`alert-intel slack-server` against raw, malformed HTTP over a socket: every request gets a 2xx/4xx status line.

Before, a bad Content-Length, a body that was not UTF-8 or a deeply nested one dropped the connection and printed a
traceback; a truncated body hung the request thread forever. Signatures are computed against the current time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import socket
import time
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

# Imported here, not first in a fixture, so the structured logger binds to pytest's session-wide output stream.
import functions.shared.observability  # noqa: F401
from functions.local_runner.chat_commands import LocalSlackServer
from tests.support.events import load_event

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([0-9]{3}) ")
READ_TIMEOUT = 1.0


class NoWorker:
    """The worker is never reached: none of these requests is a question."""


@pytest.fixture(scope="module")
def server() -> Iterator[LocalSlackServer]:
    with LocalSlackServer(SECRET, NoWorker(), port=0, read_timeout=READ_TIMEOUT) as running:  # type: ignore[arg-type]
        yield running


def signed_headers(raw: bytes) -> bytes:
    stamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), b"v0:" + stamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return f"X-Slack-Request-Timestamp: {stamp}\r\nX-Slack-Signature: v0={digest}\r\n".encode()


def post(body: bytes, *, signed: bool = True, length: int | None = None) -> bytes:
    headers = signed_headers(body) if signed else b""
    size = len(body) if length is None else length
    return b"POST /slack/events HTTP/1.1\r\nHost: localhost\r\n" + headers + b"Content-Length: %d\r\n\r\n" % size + body


def exchange(server: LocalSlackServer, request: bytes, *, close_sending: bool = True) -> tuple[int, bytes]:
    """Send `request` on a fresh connection, read the answer to the end; the status and the whole answer."""
    host, port = server.httpd.server_address[:2]
    with socket.create_connection((str(host), int(port)), timeout=10) as connection:
        connection.sendall(request)
        if close_sending:
            connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    match = STATUS_LINE.match(answer)
    assert match, f"no status line in {answer[:200]!r}"
    return int(match.group(1)), answer


CHALLENGE = json.dumps(load_event("slack_url_verification.json")).encode()
DEEP = b"[" * 100_000 + b"]" * 100_000

# Bodies signed when the test runs (the signature holds the current time), and what each is answered.
SIGNED = {
    "signed challenge": (CHALLENGE, 200),
    "signed deep JSON": (DEEP, 400),
    "signed non-UTF-8 body": (b'{"type": "\xff\xfe"}', 401),
    "signed body that is not JSON": (b"hello", 400),
    "signed JSON list": (b"[1, 2]", 400),
    "signed mention with a list as text": (
        json.dumps({**load_event("slack_app_mention.json"), "event": {"type": "app_mention", "text": []}}).encode(),
        200,
    ),
}
# Raw requests, and what each is answered.
CASES = {
    "unsigned challenge": (post(CHALLENGE, signed=False), 401),
    "non-numeric Content-Length": (b"POST /slack/events HTTP/1.1\r\nContent-Length: ten\r\n\r\nxx", 400),
    "negative Content-Length": (b"POST /slack/events HTTP/1.1\r\nContent-Length: -1\r\n\r\nxx", 400),
    "fractional Content-Length": (b"POST /slack/events HTTP/1.1\r\nContent-Length: 1.5\r\n\r\nxx", 400),
    "two Content-Lengths": (b"POST /slack/events HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab", 400),
    "huge Content-Length": (b"POST /slack/events HTTP/1.1\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\nxx", 413),
    "missing Content-Length": (b"POST /slack/events HTTP/1.1\r\n\r\n{}", 411),
    "chunked body": (b"POST /slack/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 411),
    "body shorter than Content-Length": (post(CHALLENGE, signed=False, length=len(CHALLENGE) + 50), 400),
    "body over 1 MiB": (post(b"x" * (2 * 1024 * 1024), signed=False), 413),
    "huge header line": (b"POST /slack/events HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431),
    "too many headers": (b"POST /slack/events HTTP/1.1\r\n" + b"X-A: 1\r\n" * 200 + b"\r\n", 431),
    "huge request line": (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
    "non-ASCII headers": (
        post(CHALLENGE, signed=False).replace(b"Host: localhost", b"X-Slack-Signature: v0=\xe9"),
        401,
    ),
    "GET health": (b"GET /health HTTP/1.1\r\n\r\n", 200),
    "GET events": (b"GET /slack/events HTTP/1.1\r\n\r\n", 405),
    "GET elsewhere": (b"GET /admin HTTP/1.1\r\n\r\n", 404),
    "HEAD": (b"HEAD /health HTTP/1.1\r\n\r\n", 200),
    "DELETE": (b"DELETE /slack/events HTTP/1.1\r\n\r\n", 405),
    "made-up method": (b"BREW\x1b[31m /pot HTTP/1.1\r\n\r\n", 405),
    "POST elsewhere": (b"POST /other HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", 404),
    "HTTP/2 request line": (b"GET /health HTTP/2.0\r\n\r\n", 400),
    "HTTP/0.9 request line": (b"GET /health\r\n", 200),
    "bad version": (b"GET /health HTTP/x\r\n\r\n", 400),
    "blank request line": (b"\r\n", 400),
    "garbage": (b"\x00\xff garbage", 400),
}


@pytest.mark.parametrize("request_bytes, expected", CASES.values(), ids=CASES.keys())
def test_every_malformed_request_gets_a_status_line(server, capfd, request_bytes, expected):
    # When the request is sent and the client stops sending
    status, _ = exchange(server, request_bytes)

    # Then the answer has the expected 2xx/4xx status, and nothing printed a traceback
    assert status == expected
    assert "Traceback" not in "".join(capfd.readouterr())


@pytest.mark.parametrize("body, expected", SIGNED.values(), ids=SIGNED.keys())
def test_every_signed_body_gets_its_status(server, capfd, body, expected):
    status, _ = exchange(server, post(body))
    assert status == expected
    assert "Traceback" not in "".join(capfd.readouterr())


def test_a_client_that_stops_sending_mid_body_gets_408_after_the_read_timeout(server):
    # Given a request whose body never arrives in full, on a connection the client keeps open
    started = time.monotonic()

    # When it is sent
    status, _ = exchange(server, post(CHALLENGE, length=len(CHALLENGE) + 50), close_sending=False)

    # Then the server gives up after its read timeout instead of holding the thread forever
    assert status == 408
    assert time.monotonic() - started < READ_TIMEOUT + 5


def test_a_client_that_stops_sending_mid_headers_gets_408(server):
    status, _ = exchange(server, b"POST /slack/events HTTP/1.1\r\nContent-Le", close_sending=False)
    assert status == 408


def test_the_server_still_answers_after_the_malformed_requests(server):
    for request_bytes, _ in CASES.values():
        exchange(server, request_bytes)
    for body, _ in SIGNED.values():
        exchange(server, post(body))
    assert exchange(server, post(CHALLENGE))[0] == 200


@settings(max_examples=40, deadline=None)
@given(
    request_bytes=st.binary(min_size=1, max_size=300)
    | st.builds(
        lambda method, path, headers, body: method + b" " + path + b" HTTP/1.1\r\n" + headers + b"\r\n" + body,
        st.sampled_from([b"POST", b"GET", b"PUT", b"X"]),
        st.sampled_from([b"/slack/events", b"/health", b"/", b"/slack/events?x=1"]),
        st.lists(st.binary(max_size=40).map(lambda h: b"Content-Length: " + h + b"\r\n"), max_size=2).map(b"".join),
        st.binary(max_size=100),
    )
)
def test_any_bytes_get_a_2xx_or_4xx_status_line(server, request_bytes):
    status, _ = exchange(server, request_bytes)
    assert 200 <= status < 500
