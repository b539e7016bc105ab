"""A Slack Web API server on 127.0.0.1 that records calls and answers like Slack (`alert-intel run --slack web`,
and the tests through `tests.support.fake_slack_api`).

Speaks the wire format slack_sdk's WebClient uses: `POST /api/<method>` with a JSON or form body, or `GET` with
query parameters, `Authorization: Bearer <token>`; answers `{"ok": true, ...}`. `chat.postMessage` answers a
fresh `ts`; `chat.update` edits one by its `ts`; `conversations.replies` answers the messages a test set with
`set_thread`. A test can queue a raw answer (e.g. 429 with `Retry-After`), and a wrong token answers
`{"ok": false, "error": "invalid_auth"}`.
Point a client at it with `SLACK_API_URL=<fake.api_url>`.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from functions.local_runner.loopback import LoopbackServer, send_json


@dataclass
class ApiCall:
    method: str
    http_verb: str
    headers: dict[str, str]
    args: dict[str, Any]
    ts: str | None = None  # the message the call created or edited, as answered

    def record(self) -> dict[str, Any]:
        """The call as `slack_calls.json` lists it."""
        return {
            "method": self.method,
            "channel": self.args.get("channel"),
            "ts": self.ts,
            "thread_ts": self.args.get("thread_ts"),
            "text": self.args.get("text"),
            "blocks": self.args.get("blocks"),
        }


@dataclass
class QueuedAnswer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class FakeSlackApi(LoopbackServer):
    methods = ("GET", "POST")

    def __init__(self, token: str = "xoxb-test-token") -> None:
        super().__init__()
        self.token = token
        self.calls: list[ApiCall] = []
        self.queued: list[QueuedAnswer] = []
        self.threads: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._posted = threading.Condition()
        self._ts_counter = 0

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def handle(self, http: BaseHTTPRequestHandler, body: bytes) -> None:
        url = urlsplit(http.path)
        if http.command == "GET":
            self._handle(http, "GET", url.path, dict(parse_qsl(url.query)))
            return
        raw = body.decode("utf-8")
        if "json" in http.headers.get("Content-Type", ""):
            args = json.loads(raw or "{}")
        else:
            args = dict(parse_qsl(raw))
            for key in ("blocks", "attachments", "metadata"):
                if isinstance(args.get(key), str):
                    args[key] = json.loads(args[key])
        self._handle(http, "POST", url.path, args)

    def set_thread(self, channel: str, ts: str, messages: list[dict[str, Any]]) -> None:
        self.threads[(channel, ts)] = messages

    def queue(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self.queued.append(QueuedAnswer(status, body, headers or {}))

    def posts(self) -> list[ApiCall]:
        """Every chat.postMessage request received (answered or not: a 429 counts as an attempt)."""
        return [c for c in self.calls if c.method == "chat.postMessage"]

    def wait_for_posts(self, count: int, timeout: float = 10.0) -> list[ApiCall]:
        """Block until `count` messages were posted (background workers), or the timeout passes."""
        deadline = time.monotonic() + timeout
        with self._posted:
            while len(self.posts()) < count and time.monotonic() < deadline:
                self._posted.wait(timeout=0.05)
        return self.posts()

    def _handle(self, handler: BaseHTTPRequestHandler, verb: str, path: str, args: dict[str, Any]) -> None:
        method = path.rsplit("/", 1)[-1]
        headers = dict(handler.headers.items())
        call = ApiCall(method, verb, headers, args)
        with self._posted:
            self.calls.append(call)
            self._posted.notify_all()
        if self.queued:
            answer = self.queued.pop(0)
            self._answer(handler, answer.status, answer.body, answer.headers)
            return
        if headers.get("Authorization") != f"Bearer {self.token}":
            self._answer(handler, 200, {"ok": False, "error": "invalid_auth"})
            return
        if method == "chat.postMessage":
            if not args.get("channel") or not (args.get("text") or args.get("blocks")):
                self._answer(handler, 200, {"ok": False, "error": "no_text"})
                return
            self._ts_counter += 1
            ts = f"{int(time.time())}.{self._ts_counter:06d}"
            call.ts = ts
            message = {"type": "message", "text": args.get("text", ""), "ts": ts, "bot_id": "B0FAKEBOT"}
            self._answer(handler, 200, {"ok": True, "channel": args["channel"], "ts": ts, "message": message})
        elif method == "chat.update":
            if not args.get("channel") or not args.get("ts"):
                self._answer(handler, 200, {"ok": False, "error": "message_not_found"})
                return
            call.ts = str(args["ts"])
            self._answer(
                handler, 200, {"ok": True, "channel": args["channel"], "ts": args["ts"], "text": args.get("text")}
            )
        elif method == "conversations.replies":
            messages = self.threads.get((str(args.get("channel")), str(args.get("ts"))))
            if messages is None:
                self._answer(handler, 200, {"ok": False, "error": "thread_not_found"})
            else:
                self._answer(handler, 200, {"ok": True, "messages": messages, "has_more": False})
        elif method == "auth.test":
            self._answer(handler, 200, {"ok": True, "user_id": "U0BOTUSER", "bot_id": "B0FAKEBOT"})
        else:
            self._answer(handler, 200, {"ok": False, "error": "unknown_method"})

    @staticmethod
    def _answer(
        handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        send_json(handler, status, body, content_type="application/json; charset=utf-8", headers=headers)
