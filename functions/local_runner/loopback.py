"""The request plumbing every loopback server of the local runs and the tests shares.

A `LoopbackServer` listens on 127.0.0.1 at a port the OS picks (so parallel runs never collide), serves each
request on its own thread, reads the body by its Content-Length, and runs as a context manager (or `start()` /
`stop()`). A subclass answers each request in `handle`, with `send` / `send_json` for the answer and `sigv4_signed`
for the check an AWS endpoint makes before anything else. Servers with their own error handling on the raw request
(the Slack events endpoint of `alert-intel slack-server`, `chat_commands.py`) keep their own `ThreadingHTTPServer`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

HOST = "127.0.0.1"


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 at an ephemeral port; a subclass answers requests in `handle`."""

    # The HTTP methods served; any other is answered 501 by `http.server` itself.
    methods: tuple[str, ...] = ("POST",)
    # How often serve_forever looks for a shutdown: short, so each test's teardown takes milliseconds.
    poll_interval = 0.05

    def __init__(self) -> None:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                server.handle(self, self.rfile.read(length))

            def log_message(self, format: str, *args: Any) -> None:  # quiet: the CLI and the tests report
                return

        for method in self.methods:
            setattr(_Handler, f"do_{method}", _Handler._serve)
        self._httpd = ThreadingHTTPServer((HOST, 0), _Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": self.poll_interval}, daemon=True
        )

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`, no trailing slash."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def handle(self, http: BaseHTTPRequestHandler, body: bytes) -> None:
        """Answer one request (`http.command`, `http.path`, `http.headers`; `body` already read)."""
        raise NotImplementedError

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def sigv4_signed(headers: Message) -> bool:
    """Whether the request carries a SigV4 `Authorization` header, as every AWS endpoint requires first."""
    return (headers.get("Authorization") or "").startswith("AWS4-HMAC-SHA256 ")


def json_body(body: bytes) -> Any:
    """The request's JSON body; an empty body is `{}`.

    Raises:
        ValueError: the body is not JSON.
    """
    return json.loads(body or b"{}")


def send(
    http: BaseHTTPRequestHandler,
    status: int,
    data: bytes,
    *,
    content_type: str,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Answer `status` with `data`: Content-Type, Content-Length, then `headers` in their order."""
    http.send_response(status)
    http.send_header("Content-Type", content_type)
    http.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        http.send_header(name, value)
    http.end_headers()
    http.wfile.write(data)


def send_json(
    http: BaseHTTPRequestHandler,
    status: int,
    payload: Any,
    *,
    content_type: str = "application/json",
    headers: Mapping[str, str] | None = None,
) -> None:
    """Answer `status` with `payload` as JSON."""
    send(http, status, json.dumps(payload).encode(), content_type=content_type, headers=headers)
