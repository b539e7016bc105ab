"""A Bedrock Runtime endpoint on 127.0.0.1 that speaks InvokeModel for Anthropic models.

`anthropic[bedrock]` sends `POST /model/<model-id>/invoke` with the Messages request body (the model moved into the
path, an `anthropic_version` in the body: the SDK picks the value) and a SigV4 `Authorization` header; Bedrock
answers a Messages response (content blocks, stop_reason, usage) or an error with `x-amzn-ErrorType` and
`{"message": ...}`. This server does the same: tests queue answers (a tool call, text, a throttle, a server error,
a delay) and read back every request it received. Point the SDK at it with `ANTHROPIC_BEDROCK_BASE_URL=<fake.url>`
and dummy AWS credentials.

An unqueued request answers 500 "no answer queued", so a test that sends more calls than it expected fails loudly.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlsplit

from functions.local_runner.loopback import LoopbackServer, json_body, send_json, sigv4_signed

_ERROR_TYPE_SUFFIX = ":http://internal.amazon.com/coral/com.amazon.bedrock/"


@dataclass
class ReceivedRequest:
    method: str
    path: str
    model_id: str
    headers: dict[str, str]  # lower-cased names
    body: dict[str, Any]

    @property
    def user_text(self) -> str:
        """The text of the first user message (the rendered prompt's data)."""
        content = self.body["messages"][0]["content"]
        if isinstance(content, str):
            return content
        return "\n".join(block.get("text", "") for block in content if block.get("type") == "text")


@dataclass
class QueuedAnswer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0


class FakeBedrock(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[ReceivedRequest] = []
        self.queued: list[QueuedAnswer] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._ids = itertools.count(1)

    def stop(self) -> None:
        # First release the answers waiting out a delay, so shutdown does not wait for them.
        self._stopping.set()
        super().stop()

    # Answers, in the order they will be given.

    def answer_tool_use(
        self,
        tool_input: dict[str, Any],
        *,
        name: str = "record_analysis",
        input_tokens: int = 1_850,
        output_tokens: int = 420,
        delay_seconds: float = 0.0,
    ) -> None:
        block = {"type": "tool_use", "id": f"toolu_bdrk_{next(self._ids):04d}", "name": name, "input": tool_input}
        self._queue_message([block], "tool_use", input_tokens, output_tokens, delay_seconds)

    def answer_text(self, text: str, *, input_tokens: int = 1_850, output_tokens: int = 60) -> None:
        self._queue_message([{"type": "text", "text": text}], "end_turn", input_tokens, output_tokens, 0.0)

    def throttle(self, message: str = "Too many requests, please wait before trying again.") -> None:
        self._queue_error(429, "ThrottlingException", message)

    def server_error(self, status: int = 500, message: str = "The server encountered an internal error.") -> None:
        error_type = "ServiceUnavailableException" if status == 503 else "InternalServerException"
        self._queue_error(status, error_type, message)

    def error(self, status: int, error_type: str, message: str) -> None:
        self._queue_error(status, error_type, message)

    def _queue_message(
        self,
        content: list[dict[str, Any]],
        stop_reason: str,
        input_tokens: int,
        output_tokens: int,
        delay_seconds: float,
    ) -> None:
        body = {
            "id": f"msg_bdrk_{next(self._ids):04d}",
            "type": "message",
            "role": "assistant",
            "model": "claude-fake",
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
        }
        headers = {
            "X-Amzn-Bedrock-Input-Token-Count": str(input_tokens),
            "X-Amzn-Bedrock-Output-Token-Count": str(output_tokens),
            "X-Amzn-Bedrock-Invocation-Latency": "850",
        }
        with self._lock:
            self.queued.append(QueuedAnswer(200, body, headers, delay_seconds))

    def _queue_error(self, status: int, error_type: str, message: str) -> None:
        with self._lock:
            self.queued.append(
                QueuedAnswer(status, {"message": message}, {"x-amzn-ErrorType": error_type + _ERROR_TYPE_SUFFIX})
            )

    # The wire.

    def handle(self, http: BaseHTTPRequestHandler, body: bytes) -> None:
        path = urlsplit(http.path).path
        headers = {name.lower(): value for name, value in http.headers.items()}
        try:
            request = json_body(body)
        except ValueError:
            request = {"_unparseable": body.decode("utf-8", "replace")}
        parts = path.split("/")
        model_id = unquote(parts[2]) if len(parts) == 4 and parts[1] == "model" and parts[3] == "invoke" else ""
        with self._lock:
            self.requests.append(ReceivedRequest("POST", path, model_id, headers, request))
            answer = self.queued.pop(0) if self.queued else None
        if not model_id:
            answer = QueuedAnswer(
                404, {"message": f"unknown operation {path}"}, {"x-amzn-ErrorType": "UnknownOperationException"}
            )
        elif not sigv4_signed(http.headers):
            answer = QueuedAnswer(
                403,
                {"message": "Missing Authentication Token"},
                {"x-amzn-ErrorType": "MissingAuthenticationTokenException"},
            )
        elif not isinstance(request.get("anthropic_version"), str) or "model" in request:
            answer = QueuedAnswer(
                400,
                {"message": "Malformed input request: anthropic_version missing or model in the body"},
                {"x-amzn-ErrorType": "ValidationException" + _ERROR_TYPE_SUFFIX},
            )
        elif answer is None:
            answer = QueuedAnswer(
                500,
                {"message": "fake Bedrock: no answer queued for this request"},
                {"x-amzn-ErrorType": "InternalServerException" + _ERROR_TYPE_SUFFIX},
            )
        if answer.delay_seconds and self._stopping.wait(answer.delay_seconds):
            return
        try:
            send_json(
                http,
                answer.status,
                answer.body,
                headers={"x-amzn-RequestId": f"fake-{len(self.requests):04d}", **answer.headers},
            )
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a timeout test): nothing to answer.
            return
