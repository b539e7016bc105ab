"""A Slack incoming-webhook endpoint on 127.0.0.1 that records what was posted.

It speaks the webhook wire format: a JSON POST, answered `200 ok`, or with the status, headers and body that a
test queues (e.g. `429` with `Retry-After: 1` and body `rate_limited`, as Slack sends when rate limiting).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from functions.local_runner.loopback import LoopbackServer, json_body, send


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


class SlackWebhookSink(LoopbackServer):
    poll_interval = 0.02

    def __init__(self) -> None:
        super().__init__()
        self.received: list[ReceivedPost] = []
        self.queued: list[QueuedResponse] = []

    @property
    def base_url(self) -> str:
        return self.url

    def webhook_url(self, route: str) -> str:
        return f"{self.base_url}/services/T000LOCAL/B000{route.upper()}/local-webhook"

    def queue(self, status: int, body: str = "", headers: dict[str, str] | None = None) -> None:
        self.queued.append(QueuedResponse(status, body, headers or {}))

    def handle(self, http: BaseHTTPRequestHandler, body: bytes) -> None:
        try:
            posted = json_body(body)
        except ValueError:
            self._answer(http, QueuedResponse(400, "invalid_payload"))
            return
        self.received.append(ReceivedPost(http.path, dict(http.headers.items()), posted))
        self._answer(http, self.queued.pop(0) if self.queued else QueuedResponse())

    @staticmethod
    def _answer(http: BaseHTTPRequestHandler, answer: QueuedResponse) -> None:
        send(http, answer.status, answer.body.encode(), content_type="text/html", headers=answer.headers)
