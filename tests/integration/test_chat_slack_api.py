"""The Slack Web API adapter and the bot's secrets, against a loopback Web API and moto Secrets Manager."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

import boto3
import pytest

from functions.shared.adapters import slack_api
from functions.shared.adapters.slack_api import SlackApi
from functions.shared.errors import ConfigurationError, SlackPostError, SlackRateLimitedError
from tests.support.chat_aws import chat_account
from tests.support.fake_slack_api import FakeSlackApi

TOKEN = "xoxb-adapter-test"


@pytest.fixture
def slack():
    with FakeSlackApi(token=TOKEN) as fake:
        yield fake


def test_post_message_goes_to_the_thread_with_the_bot_token(slack):
    ts = SlackApi(TOKEN, slack.api_url).post_message(
        "C1", "fallback", [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}], thread_ts="1.0"
    )
    [call] = slack.posts()
    assert ts and call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.args == {
        "channel": "C1",
        "text": "fallback",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
        "thread_ts": "1.0",
        "unfurl_links": False,
        "unfurl_media": False,
    }


def test_a_rate_limit_is_retried_once_then_raised(slack):
    # Given Slack answers 429 twice
    for _ in range(2):
        slack.queue(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "0"})

    # When the adapter posts
    # Then it retried once, honouring Retry-After, and raised the named error
    with pytest.raises(SlackRateLimitedError):
        SlackApi(TOKEN, slack.api_url).post_message("C1", "hello")
    assert len(slack.posts()) == 2


def test_a_bad_token_fails_loudly(slack):
    with pytest.raises(SlackPostError, match="invalid_auth"):
        SlackApi("xoxb-wrong", slack.api_url).post_message("C1", "hello")


def test_the_fake_speaks_form_encoded_posts_too(slack):
    # Slack accepts chat.postMessage as a form post; the fake decodes it the same way
    form = urllib.parse.urlencode({"channel": "C9", "text": "hi", "blocks": json.dumps([{"type": "divider"}])})
    request = urllib.request.Request(
        slack.api_url + "chat.postMessage",
        data=form.encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        answer = json.loads(response.read())
    assert answer["ok"] is True and answer["ts"]
    assert slack.posts()[0].args["blocks"] == [{"type": "divider"}]


def test_thread_parent_reads_the_first_message_or_none(slack):
    slack.set_thread("C1", "1.0", [{"ts": "1.0", "text": "alert"}])
    api = SlackApi(TOKEN, slack.api_url)
    assert api.thread_parent("C1", "1.0") == {"ts": "1.0", "text": "alert"}
    assert api.thread_parent("C1", "2.0") is None


def test_secrets_come_from_secrets_manager_bare_or_json(monkeypatch):
    with chat_account(monkeypatch):
        # chat_account stores the signing secret bare and the bot token as {"bot_token": ...}
        assert slack_api.signing_secret() == "8f742231b10e8888abcd99yyyzzz85a5"
        assert slack_api.bot_token().startswith("xoxb-")


def test_local_environment_variables_win_and_missing_secrets_are_named(monkeypatch):
    with chat_account(monkeypatch):
        slack_api.read_slack_secret.cache_clear()
        monkeypatch.setenv("SLACK_SIGNING_SECRET", "from-env")
        assert slack_api.signing_secret() == "from-env"
        boto3.client("secretsmanager", region_name="us-east-1").delete_secret(
            SecretId="alert-intel/slack-bot-token", ForceDeleteWithoutRecovery=True
        )
        with pytest.raises(ConfigurationError, match="alert-intel/slack-bot-token"):
            slack_api.bot_token()
