"""A Slack incoming-webhook endpoint on 127.0.0.1 that records what was posted.

It speaks the webhook wire format: a JSON POST, answered `200 ok`, or with the status, headers and body that a
test queues (e.g. `429` with `Retry-After: 1` and body `rate_limited`, as Slack sends when rate limiting).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class QueuedResponse:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ReceivedPost:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class SlackWebhookSink:
    def __init__(self) -> None:
        self.received: list[ReceivedPost] = []
        self.queued: list[QueuedResponse] = []
        sink = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    self._answer(QueuedResponse(400, "invalid_payload"))
                    return
                sink.received.append(ReceivedPost(self.path, dict(self.headers.items()), body))
                answer = sink.queued.pop(0) if sink.queued else QueuedResponse()
                self._answer(answer)

            def _answer(self, answer: QueuedResponse) -> None:
                data = answer.body.encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(data)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # quiet: the CLI prints its own table
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        # A short poll interval makes shutdown() (each test's teardown) take milliseconds instead of half a second.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def webhook_url(self, route: str) -> str:
        return f"{self.base_url}/services/T000LOCAL/B000{route.upper()}/local-webhook"

    def queue(self, status: int, body: str = "", headers: dict[str, str] | None = None) -> None:
        self.queued.append(QueuedResponse(status, body, headers or {}))

    def __enter__(self) -> SlackWebhookSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
