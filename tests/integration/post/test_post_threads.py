"""With the bot token, Post sends the main message and then its thread reply, over Slack's real Web API wire format
(a loopback server); webhook-only, the thread's content follows the main message in the same body (decision 0013)."""

from __future__ import annotations

from typing import Any

import pytest

from functions.post.logic import post_message, webhook_body
from functions.shared.adapters.slack_api import SlackApi
from functions.shared.adapters.slack_webhook import WebhookDelivery
from functions.shared.models import PostInput, Route
from tests.support.fake_slack_api import FakeSlackApi

TOKEN = "xoxb-test-token"
MAIN = {
    "text": "🔴 CRITICAL: CheckoutService failing",
    "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "🔴 CRITICAL CheckoutService failing"}}],
}
THREAD = {
    "text": "Evidence and diagnostics: CheckoutService failing",
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*Evidence*\n• 120x KeyError"}}],
}


class NoWebhook:
    def send(self, route: Route, body: dict[str, Any]) -> WebhookDelivery:
        raise AssertionError("the bot-token mode must not use the webhook")


class RecordingWebhook:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def send(self, route: Route, body: dict[str, Any]) -> WebhookDelivery:
        self.bodies.append(body)
        return WebhookDelivery(status_code=200, attempts=1, body="ok")


@pytest.fixture
def slack():
    with FakeSlackApi(token=TOKEN) as fake:
        yield fake


def test_the_main_message_then_its_thread_reply(slack: FakeSlackApi) -> None:
    # Given a formatted main message and thread, and a channel for the route
    post_input = PostInput.model_validate({"route": "critical", "message": MAIN, "thread": THREAD})

    # When Post runs with the bot token
    result = post_message(post_input, NoWebhook(), web=SlackApi(TOKEN, slack.api_url), channel="C0ALERTS")

    # Then two chat.postMessage calls: the main message, then the reply in its thread
    main, reply = slack.posts()
    assert main.args["channel"] == "C0ALERTS" and "thread_ts" not in main.args
    assert main.args["blocks"] == MAIN["blocks"]
    assert reply.args["thread_ts"] == result.ts
    assert reply.args["blocks"] == THREAD["blocks"]
    assert result.posted and result.channel == "C0ALERTS" and result.thread_ts == result.ts
    assert all(call.args.get("unfurl_links") is False for call in (main, reply))


def test_a_failed_thread_reply_does_not_fail_the_posted_alert(slack: FakeSlackApi) -> None:
    # Given Slack accepts the main message and then refuses the reply
    slack.queue(200, {"ok": True, "channel": "C0ALERTS", "ts": "1700000000.000100"})
    slack.queue(200, {"ok": False, "error": "invalid_blocks"})
    post_input = PostInput.model_validate({"route": "critical", "message": MAIN, "thread": THREAD})

    # When
    result = post_message(post_input, NoWebhook(), web=SlackApi(TOKEN, slack.api_url), channel="C0ALERTS")

    # Then the alert counts as posted (a retry would post it twice), without a thread
    assert result.posted and result.ts == "1700000000.000100"
    assert result.thread_ts is None
    assert len(slack.posts()) == 2


def test_webhook_only_appends_the_thread_below_a_divider() -> None:
    # Given no channel for the route
    webhook = RecordingWebhook()
    post_input = PostInput.model_validate({"route": "critical", "message": MAIN, "thread": THREAD})

    # When
    result = post_message(post_input, webhook)

    # Then one body: the main message first, then a divider, then the thread's blocks
    (body,) = webhook.bodies
    assert body["text"] == MAIN["text"]
    assert body["blocks"] == [*MAIN["blocks"], {"type": "divider"}, *THREAD["blocks"]]
    assert result.posted and result.ts is None
    assert "ts" not in result.model_dump(mode="json")


def test_webhook_body_keeps_slacks_block_limit() -> None:
    many = {"text": "t", "blocks": [{"type": "divider"}] * 60}
    body = webhook_body(PostInput.model_validate({"message": MAIN, "thread": many}))
    assert len(body["blocks"]) == 50
