"""`alert-intel chat` and `alert-intel slack-server` against the simulated account (the default demo scenario)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from functions.local_runner import chat_commands
from functions.local_runner.cli import main
from tests.support.events import load_event
from tests.support.fake_slack_api import FakeSlackApi
from tests.support.slack_signing import signed_request

SECRET = "local-signing-secret"
TOKEN = "xoxb-local-test-token"


@pytest.fixture
def local_env(monkeypatch, tmp_path):
    monkeypatch.setenv("ALERT_INTEL_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("ALERT_INTEL_MODEL_ID", "")
    for name in ("ANTHROPIC_BEDROCK_BASE_URL", "ALERT_INTEL_ENV", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    # The commands set dummy AWS credentials in os.environ; monkeypatch restores them afterwards.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.setenv(name, "testing" if name.startswith("AWS_A") or name.endswith("TOKEN") else "us-east-1")
    for name, value in {
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    return tmp_path


def test_chat_json_answers_a_cost_question_from_the_simulated_account(local_env, capsys):
    # When the CLI is asked about the demo scenario's cost spike
    code = main(["chat", "why did Lambda costs spike?", "--json"])

    # Then it prints exactly agent, tools_used and answer, with the scenario's numbers as labelled findings
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == {"agent", "tools_used", "answer"}
    assert printed["agent"] == "CostAnalyst"
    assert printed["tools_used"] == ["cost_by_service", "budgets_status", "cost_forecast"]
    assert "not an AI answer" in printed["answer"]
    assert "AWS Lambda: $48.00 yesterday vs $12.00 the day before" in printed["answer"]
    assert "Forecast to month end $1,610.40" in printed["answer"]


def test_chat_thread_continues_a_conversation(local_env, capsys):
    # Given a first question in thread "demo"
    assert main(["chat", "show me errors in the ImageProcessor logs", "--thread", "demo", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)

    # When a follow-up is asked in the same thread
    assert main(["chat", "and its invocations?", "--thread", "demo", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)

    # Then both answers came from the right specialists and the thread holds all four turns
    assert first["agent"] == "LogsAnalyst" and "UnidentifiedImageError" in first["answer"]
    assert second["agent"] == "InfraExpert"
    stored = json.loads((local_env / "chat-conversations.json").read_text())
    [conversation] = stored["conversations"]
    assert conversation["conversation_id"] == "local-demo"
    assert [m["role"] for m in conversation["messages"]] == ["user", "assistant", "user", "assistant"]


def test_chat_with_an_unknown_scenario_is_a_usage_error(local_env, capsys):
    assert main(["chat", "hi", "--scenario", "no-such-scenario"]) == 2
    assert "unknown scenario" in capsys.readouterr().err


def test_slack_server_without_secrets_is_a_usage_error(local_env, monkeypatch, capsys):
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    assert main(["slack-server", "--port", "0"]) == 2
    assert "SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN" in capsys.readouterr().err


def post(url: str, body: str, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_slack_server_answers_a_signed_mention_once_in_its_thread(local_env, monkeypatch):
    # Given the local server on a free port, replies going to a loopback Slack Web API
    with FakeSlackApi(token=TOKEN) as slack:
        monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
        monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("SLACK_API_URL", slack.api_url)
        with chat_commands.simulated_chat_account(), chat_commands.local_slack_server(port=0) as server:
            payload = load_event("slack_app_mention.json")

            # When Slack posts the mention, retries it, and someone posts with the wrong secret
            first = post(server.url, *signed_request(payload, SECRET))
            retry = post(server.url, *signed_request(payload, SECRET, retry_num=1))
            forged = post(server.url, *signed_request(payload, "not-the-secret"))
            challenge = post(server.url, *signed_request(load_event("slack_url_verification.json"), SECRET))
            server.wait_idle()

        # Then one answer was posted in the thread, through slack_sdk with the bot token
        assert first[0] == 200 and retry[0] == 200 and forged[0] == 401
        assert json.loads(challenge[1])["challenge"].startswith("3eZbrw1aBm2r")
        [reply] = slack.posts()
        assert reply.headers["Authorization"] == f"Bearer {TOKEN}"
        assert reply.args["channel"] == "C0LAN2Q65"
        assert reply.args["thread_ts"] == "1515449522.000016"
        assert "AWS Lambda" in reply.args["blocks"][0]["text"]["text"]
