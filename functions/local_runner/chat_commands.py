"""`alert-intel chat` and `alert-intel slack-server`: the Slack chat bot, locally, against a simulated account.

* `chat "question" [--thread ID] [--json] [--scenario NAME]` asks the supervisor once. Conversations are kept in
  `.alert-intel/chat-conversations.json` (or `$ALERT_INTEL_STATE_DIR`), so `--thread ID` continues one.
* `slack-server [--port N] [--scenario NAME]` serves `POST /slack/events` on 127.0.0.1 with the same endpoint
  logic as the Lambda (signature check with SLACK_SIGNING_SECRET, dedup, url_verification) and answers in a
  background thread, posting with SLACK_BOT_TOKEN through slack_sdk's WebClient to SLACK_API_URL when set
  (Slack's API otherwise). Point a tunnel (ngrok, cloudflared) at it to try it from a real workspace.

Both seed a moto account from a scenario (default: the ImageProcessor invocation storm) and use Claude when
ALERT_INTEL_MODEL_ID is set, the labelled tool findings otherwise.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

from functions.shared.untrusted_text import clean_text

if TYPE_CHECKING:  # the chat code (LangGraph) loads only when a chat verb runs, not for every `alert-intel` call
    from functions.chat.graph import SupervisorDeps
    from functions.chat.worker import WorkerDeps
    from functions.shared.chat_models import ChatRequest

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_PORT = 3000
EVENTS_PATH = "/slack/events"
LOCAL_CHANNEL = "local"
# slack-server: how long a client may pause while sending one request, and how long (and how much) of a body
# that was answered without being read is taken in and dropped before the connection closes.
READ_TIMEOUT_SECONDS = 10.0
_DISCARD_SECONDS = 2.0
_DISCARD_BYTES = 16 * 1024 * 1024
_DIGITS = re.compile(r"[0-9]+")


def register(subparsers: Any) -> None:
    """Add the `chat` and `slack-server` verbs to the `alert-intel` argument parser."""
    chat = subparsers.add_parser("chat", help="ask the chat bot a question against the simulated account")
    chat.add_argument("question")
    chat.add_argument("--thread", metavar="ID", help="continue the conversation of this thread")
    chat.add_argument("--json", action="store_true", help='print {"agent", "tools_used", "answer"} as JSON')
    chat.add_argument("--scenario", metavar="NAME", help="scenario that seeds the simulated account")
    chat.set_defaults(func=cmd_chat)

    server = subparsers.add_parser("slack-server", help="serve POST /slack/events on 127.0.0.1 (for a tunnel)")
    server.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    server.add_argument("--scenario", metavar="NAME", help="scenario that seeds the simulated account")
    server.set_defaults(func=cmd_slack_server)


# --- The simulated account ---------------------------------------------------------------------------------------


def _quiet_logs() -> None:
    """The CLI prints its own output; the Lambdas' structured INFO logs would drown it."""
    from functions.shared.observability import logger

    logger.setLevel(logging.WARNING)


def _reset_caches() -> None:
    from functions.chat.settings import get_chat_settings
    from functions.local_runner.runner import reset_local_caches

    reset_local_caches()
    get_chat_settings.cache_clear()


def _seed(scenario_name: str | None, now: datetime) -> str:
    """Seed the active moto account from a scenario; returns what was seeded, in words."""
    try:
        from functions.local_runner.scenario import DEFAULT_SCENARIO, load_scenario
        from functions.local_runner.seed import seed_account
    except ImportError:  # the scenarios are optional: an empty account still answers
        return "an empty simulated account"
    scenario = load_scenario(scenario_name or DEFAULT_SCENARIO, now=now)
    seed_account(scenario.account, now=now)
    return f"scenario {scenario.name}"


@contextmanager
def simulated_chat_account(scenario_name: str | None = None) -> Iterator[str]:
    """An active moto account seeded from a scenario, with fresh caches; yields what was seeded.

    Raises:
        FileNotFoundError, KeyError: the scenario does not exist.
    """
    from moto import mock_aws

    from functions.local_runner.cloudtrail_server import ENDPOINT_VARIABLE, LOCAL_TRAIL, LocalCloudTrail
    from functions.local_runner.moto_elasticache import cache_reads
    from functions.local_runner.runner import configure_local_environment

    configure_local_environment()
    LOCAL_TRAIL.reset()
    # moto has no CloudTrail LookupEvents: the seeded changes are served by the loopback endpoint, as in `run`;
    # nor ElastiCache's parameters and events, which `cache_reads` serves from the seed.
    with (
        mock_aws(),
        cache_reads(),
        LocalCloudTrail() as trail,
        mock.patch.dict(os.environ, {ENDPOINT_VARIABLE: trail.url}),
    ):
        _reset_caches()
        try:
            yield _seed(scenario_name, datetime.now(UTC))
        finally:
            _reset_caches()
            LOCAL_TRAIL.reset()


def supervisor_deps() -> SupervisorDeps:
    from functions.chat.aws_tools import default_toolbox
    from functions.chat.graph import SupervisorDeps
    from functions.chat.settings import get_chat_settings
    from functions.chat.worker_handler import limits_from
    from functions.shared.adapters.bedrock import get_bedrock_model

    return SupervisorDeps(toolbox=default_toolbox(), model=get_bedrock_model(), limits=limits_from(get_chat_settings()))


# --- alert-intel chat ----------------------------------------------------------------------------------------------


def state_file() -> Path:
    return Path(os.environ.get("ALERT_INTEL_STATE_DIR") or ".alert-intel") / "chat-conversations.json"


class _Recorder:
    """A Slack poster that keeps the message instead of sending it (the CLI prints the answer itself)."""

    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []

    def post_message(
        self, channel: str, text: str, blocks: list[dict[str, Any]] | None = None, thread_ts: str | None = None
    ) -> str:
        self.posted.append({"channel": channel, "text": text, "blocks": blocks, "thread_ts": thread_ts})
        return f"{time.time():.6f}"


def _chat_extra_missing() -> bool:
    try:
        import langgraph.graph  # noqa: F401
    except ImportError:
        print("alert-intel: the chat verbs need the `chat` extra: pip install -e '.[chat]'", file=sys.stderr)
        return True
    return False


def cmd_chat(args: argparse.Namespace) -> int:
    if _chat_extra_missing():
        return EXIT_USAGE
    question = " ".join(str(args.question).split())
    if not question:
        print("alert-intel: the question is empty", file=sys.stderr)
        return EXIT_USAGE
    from functions.chat.store import JsonFileConversationStore
    from functions.chat.worker import WorkerDeps, answer_chat_request
    from functions.shared.chat_models import ChatRequest

    _quiet_logs()
    thread = args.thread or f"cli-{uuid.uuid4().hex[:8]}"
    store = JsonFileConversationStore(state_file())
    try:
        with simulated_chat_account(args.scenario) as seeded:
            request = ChatRequest(
                event_id=f"cli-{uuid.uuid4().hex}",
                channel=LOCAL_CHANNEL,
                thread_ts=thread,
                message_ts=f"{time.time():.6f}",
                user="cli",
                text=question,
            )
            # The worker's own logic: the thread's history goes in, both turns are saved for follow-ups.
            result = answer_chat_request(
                request, WorkerDeps(store=store, slack=_Recorder(), supervisor=supervisor_deps())
            )
    except (FileNotFoundError, KeyError) as exc:
        print(f"alert-intel: unknown scenario {args.scenario!r}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps({"agent": result.agent, "tools_used": result.tools_used, "answer": result.answer}, indent=2))
    else:
        print(f"[{result.agent} · {result.method} · tools: {', '.join(result.tools_used) or 'none'} · {seeded}]")
        print()
        print(result.answer)
        print()
    print(f'(follow up with: alert-intel chat "..." --thread {thread})', file=sys.stderr)
    return EXIT_OK


# --- alert-intel slack-server --------------------------------------------------------------------------------------


class _SlackEventsHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints a traceback to stderr. By the time an error gets here the request thread has answered
        # whatever it could, so one line is enough.
        _server_log().warning("request from %s failed: %r", client_address, sys.exc_info()[1])


def _server_log() -> logging.Logger:
    return logging.getLogger("alert-intel.slack-server")


class _SlackEventsRequestHandler(BaseHTTPRequestHandler):
    """One request per connection (HTTP/1.0), and every request gets a status line with a 2xx or 4xx status.

    On its own, http.server drops the connection when a client stops sending (read timeout) or sends a blank
    request line, answers 501 to an unknown method and 505 to HTTP/2, writes no status line before an error to an
    HTTP/0.9 request line, and lets a handler's exception print a traceback. Each of those is answered here.
    """

    app: LocalSlackServer
    # Set on the socket by StreamRequestHandler: a client that stops sending holds its thread this long at most.
    timeout = READ_TIMEOUT_SECONDS
    # So that even the answer to a malformed request line starts with a status line.
    default_request_version = "HTTP/1.0"
    _answered = False
    _body_read = False

    def handle_one_request(self) -> None:
        self.close_connection = True
        try:
            self._handle_one()
        except TimeoutError:
            self._answer_if_unanswered(408, "request timed out")
        except OSError as exc:  # the client went away (reset, broken pipe): nobody is left to answer
            self.app.log.info("connection from %s lost: %r", self.address_string(), exc)
            return
        except Exception as exc:  # a bug reached by some request: still an answer, and no traceback
            self.app.log.warning("could not handle a request from %s: %r", self.address_string(), exc)
            self._answer_if_unanswered(400, "bad request")
        if not self._body_read and self._may_have_body():
            self._discard_unread()

    def _handle_one(self) -> None:
        self.command, self.request_version, self.requestline = "", self.default_request_version, ""
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline:
            return  # the client closed without sending anything
        if len(self.raw_requestline) > 65536:
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
            return
        if not str(self.raw_requestline, "iso-8859-1").split():  # what parse_request drops without an answer
            self.send_error(HTTPStatus.BAD_REQUEST, "empty request line")
            return
        if not self.parse_request():
            return  # parse_request has answered
        method = getattr(self, f"do_{self.command}", None)
        if method is None:
            self._answer(405, "method not allowed", {"Allow": "GET, HEAD, POST"})
            return
        method()

    def do_POST(self) -> None:
        length = self._content_length()
        if length is None:
            return
        if self.path.split("?", 1)[0] != EVENTS_PATH:
            self._answer(404, "not found")
            return
        body = self.rfile.read(length)  # a client that stops sending raises TimeoutError: 408
        if len(body) < length:
            self._answer(400, "the body is shorter than its Content-Length")
            return
        self._body_read = True
        from functions.chat.events import handle_slack_request

        app = self.app
        response = handle_slack_request(body, self.headers.items(), app.verifier, app.claims, app.dispatch)
        self._answer(response.status, response.body, response.headers)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/health":
            self._answer(200, "ok")
        elif path == EVENTS_PATH:
            self._answer(405, "method not allowed", {"Allow": "POST"})
        else:
            self._answer(404, "not found")

    do_HEAD = do_GET

    def _content_length(self) -> int | None:
        """The body's declared length; None once 411, 400 or 413 has been answered."""
        from functions.chat.events import MAX_BODY_BYTES

        if self.headers.get("Transfer-Encoding"):
            self._answer(411, "send the body with a Content-Length")
            return None
        values = {value.strip() for value in self.headers.get_all("Content-Length") or []}
        if not values:
            self._answer(411, "Content-Length required")
            return None
        [value, *others] = values
        if others or not _DIGITS.fullmatch(value):
            self._answer(400, "bad Content-Length")
            return None
        if len(value) > len(str(MAX_BODY_BYTES)) or int(value) > MAX_BODY_BYTES:
            self._answer(413, f"the body is over {MAX_BODY_BYTES} bytes")
            return None
        return int(value)

    def _may_have_body(self) -> bool:
        headers = getattr(self, "headers", None)
        if headers is None:  # the request failed before its headers were read
            return True
        return bool(headers.get("Transfer-Encoding")) or headers.get("Content-Length", "0").strip() not in {"", "0"}

    def _discard_unread(self) -> None:
        """Read and drop what the client still sends, for a moment, so closing the socket with unread data does not
        reset the connection before the client has read the answer."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + _DISCARD_SECONDS
            left = _DISCARD_BYTES
            while left > 0 and (remaining := deadline - time.monotonic()) > 0:
                self.connection.settimeout(remaining)
                chunk = self.connection.recv(min(left, 65536))
                if not chunk:
                    break
                left -= len(chunk)
        except OSError:  # timed out or reset: the client has had its answer
            pass

    def _answer_if_unanswered(self, status: int, body: str) -> None:
        if self._answered:
            return
        try:
            self._answer(status, body)
        except OSError as exc:
            self.app.log.info("could not answer %s: %r", self.address_string(), exc)

    def _answer(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
        data = body.encode("utf-8", "replace")
        self.send_response(status)
        for name, value in (headers or {"Content-Type": "text/plain; charset=utf-8"}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_response_only(self, code: int, message: str | None = None) -> None:
        self._answered = True
        super().send_response_only(code, message)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # http.server answers 505 to an HTTP/2 request line: a request this server cannot read is the client's error.
        super().send_error(HTTPStatus.BAD_REQUEST if code >= 500 else code, message, explain)

    def log_message(self, format: str, *args: Any) -> None:
        # The request line is the client's text: control characters are shown, not sent to the terminal.
        self.app.log.info("%s %s", self.address_string(), clean_text(format % args))


class LocalSlackServer:
    """POST /slack/events on 127.0.0.1, answering like the API Gateway + Lambda pair does.

    The request thread only verifies, de-duplicates and queues; a worker thread answers and posts, so Slack gets
    its 200 within three seconds whatever the question costs. Every request gets a 2xx or 4xx answer (see
    `_SlackEventsRequestHandler`): bodies over 1 MiB are 413 before they are read, and a client that stops sending
    for `read_timeout` seconds gets 408.
    """

    def __init__(
        self,
        signing_secret: str,
        worker: WorkerDeps,
        port: int = DEFAULT_PORT,
        read_timeout: float = READ_TIMEOUT_SECONDS,
    ) -> None:
        from slack_sdk.signature import SignatureVerifier

        from functions.chat.store import InMemoryConversationStore

        self.verifier = SignatureVerifier(signing_secret)
        self.worker = worker
        self.claims = InMemoryConversationStore()
        self.executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="chat-worker")
        self.pending: list[Future[Any]] = []
        self.log = _server_log()

        class _Handler(_SlackEventsRequestHandler):
            timeout = read_timeout

        _Handler.app = self
        self.httpd = _SlackEventsHTTPServer(("127.0.0.1", port), _Handler)
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}{EVENTS_PATH}"

    def dispatch(self, request: ChatRequest) -> None:
        self.pending.append(self.executor.submit(self._answer, request))

    def _answer(self, request: ChatRequest) -> None:
        from functions.chat.worker import answer_chat_request

        try:
            result = answer_chat_request(request, self.worker)
            self.log.warning("answered %s as %s (tools: %s)", request.event_id, result.agent, result.tools_used)
        except Exception:
            self.log.exception("could not answer %s", request.event_id)
            raise

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait for every queued answer to finish (tests, shutdown)."""
        for future in list(self.pending):
            future.exception(timeout=timeout)

    def start(self) -> LocalSlackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.executor.shutdown(wait=True)

    def __enter__(self) -> LocalSlackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def local_slack_server(port: int = DEFAULT_PORT) -> LocalSlackServer:
    """The server with its secrets from SLACK_SIGNING_SECRET / SLACK_BOT_TOKEN. Call inside a simulated account.

    Raises:
        KeyError: one of the two variables is missing or empty (its name is the message).
    """
    from functions.chat.store import InMemoryConversationStore
    from functions.chat.worker import WorkerDeps
    from functions.shared.adapters.slack_api import SlackApi, slack_api_base_url

    signing_secret = os.environ.get("SLACK_SIGNING_SECRET", "")
    token = os.environ.get("SLACK_BOT_TOKEN", "")
    for name, value in (("SLACK_SIGNING_SECRET", signing_secret), ("SLACK_BOT_TOKEN", token)):
        if not value:
            raise KeyError(name)
    slack = SlackApi(token, slack_api_base_url())
    worker = WorkerDeps(
        store=InMemoryConversationStore(),
        slack=slack,
        supervisor=supervisor_deps(),
        thread_parent=slack.thread_parent,
    )
    return LocalSlackServer(signing_secret, worker, port)


def cmd_slack_server(args: argparse.Namespace) -> int:
    if _chat_extra_missing():
        return EXIT_USAGE
    missing = [n for n in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN") if not os.environ.get(n)]
    if missing:
        print(f"alert-intel: set {' and '.join(missing)} (from your Slack app's settings)", file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    _quiet_logs()
    try:
        with simulated_chat_account(args.scenario) as seeded, local_slack_server(args.port) as server:
            from functions.shared.adapters.slack_api import slack_api_base_url

            target = slack_api_base_url() or "https://slack.com/api/"
            print(f"Serving {server.url} against {seeded}; replies go to {target}. Ctrl-C to stop.", flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                print("stopping", file=sys.stderr)
    except (FileNotFoundError, KeyError) as exc:
        print(f"alert-intel: unknown scenario {args.scenario!r}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"alert-intel: cannot serve on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
