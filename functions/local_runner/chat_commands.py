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
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the chat code (LangGraph) loads only when a chat verb runs, not for every `alert-intel` call
    from functions.chat.graph import SupervisorDeps
    from functions.chat.models import ChatRequest
    from functions.chat.worker import WorkerDeps

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_PORT = 3000
EVENTS_PATH = "/slack/events"
LOCAL_CHANNEL = "local"


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

    from functions.local_runner.runner import configure_local_environment

    configure_local_environment()
    with mock_aws():
        _reset_caches()
        try:
            yield _seed(scenario_name, datetime.now(UTC))
        finally:
            _reset_caches()


def supervisor_deps() -> SupervisorDeps:
    from functions.chat.graph import SupervisorDeps
    from functions.chat.settings import get_chat_settings
    from functions.chat.tools import default_toolbox
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
    from functions.chat.models import ChatRequest
    from functions.chat.store import JsonFileConversationStore
    from functions.chat.worker import WorkerDeps, answer_chat_request

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


class LocalSlackServer:
    """POST /slack/events on 127.0.0.1, answering like the API Gateway + Lambda pair does.

    The request thread only verifies, de-duplicates and queues; a worker thread answers and posts, so Slack gets
    its 200 within three seconds whatever the question costs.
    """

    def __init__(self, signing_secret: str, worker: WorkerDeps, port: int = DEFAULT_PORT) -> None:
        from slack_sdk.signature import SignatureVerifier

        from functions.chat.events import handle_slack_request
        from functions.chat.store import InMemoryConversationStore

        self.verifier = SignatureVerifier(signing_secret)
        self.worker = worker
        self.claims = InMemoryConversationStore()
        self.executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="chat-worker")
        self.pending: list[Future[Any]] = []
        self.log = logging.getLogger("alert-intel.slack-server")
        server = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.path.split("?", 1)[0] != EVENTS_PATH:
                    self._answer(404, "not found", {"Content-Type": "text/plain"})
                    return
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode("utf-8")
                response = handle_slack_request(
                    body, dict(self.headers.items()), server.verifier, server.claims, server.dispatch
                )
                self._answer(response.status, response.body, response.headers)

            def do_GET(self) -> None:
                self._answer(200 if self.path == "/health" else 404, "ok", {"Content-Type": "text/plain"})

            def _answer(self, status: int, body: str, headers: dict[str, str]) -> None:
                data = body.encode("utf-8")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                server.log.info("%s %s", self.address_string(), format % args)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.httpd.daemon_threads = True
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
