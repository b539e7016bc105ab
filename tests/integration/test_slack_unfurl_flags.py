"""Slack never previews a page a message names: both adapters send unfurl_links and unfurl_media false."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from functions.local_runner.slack_sink import SlackWebhookSink
from functions.shared.adapters.slack_api import SlackApi
from functions.shared.adapters.slack_webhook import SlackWebhook
from tests.support.fake_slack_api import FakeSlackApi

TOKEN = "xoxb-unfurl-test"
SECTION: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
MESSAGE = {"text": "see hxxps://evil[.]example", "blocks": [SECTION]}


@pytest.fixture
def sink() -> Iterator[SlackWebhookSink]:
    with SlackWebhookSink() as webhook_sink:
        yield webhook_sink


def test_every_webhook_body_turns_unfurling_off(sink: SlackWebhookSink) -> None:
    # Given a message that even asks for unfurling
    webhook = SlackWebhook(lambda route: sink.webhook_url(route), sleep=lambda _: None)

    # When it is posted, and so is a plain-text body
    webhook.send("critical", {**MESSAGE, "unfurl_links": True})
    webhook.send("critical", {"text": "fallback"})

    # Then both bodies went out with unfurling off and otherwise as given
    first, second = (post.body for post in sink.received)
    assert first == {**MESSAGE, "unfurl_links": False, "unfurl_media": False}
    assert second == {"text": "fallback", "unfurl_links": False, "unfurl_media": False}


def test_chat_post_message_turns_unfurling_off() -> None:
    with FakeSlackApi(token=TOKEN) as slack:
        SlackApi(TOKEN, slack.api_url).post_message("C1", "answer", [SECTION], thread_ts="1.0")
        (call,) = slack.posts()
    assert call.args["unfurl_links"] is False
    assert call.args["unfurl_media"] is False
