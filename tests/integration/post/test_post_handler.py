"""The Post stage against a local Slack incoming-webhook server, with webhook URLs in moto Secrets Manager."""

from __future__ import annotations

import pytest

from functions.local_runner.moto_lambda import FakeLambdaContext
from functions.local_runner.slack_sink import SlackWebhookSink
from functions.post.handler import handler
from functions.shared.errors import ConfigurationError, SlackPostError, SlackRateLimitedError
from tests.integration.post.conftest import store_webhooks

# Every body the adapters send turns Slack's link and media unfurling off: alert text must never unfurl.
NO_UNFURL = {"unfurl_links": False, "unfurl_media": False}
MESSAGE = {
    "text": "🔴 CRITICAL: api-errors — A bad deploy",
    "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "🔴 CRITICAL api-errors", "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Root cause* (confidence: high)\nA bad deploy"}},
    ],
}


def post_event(route: str = "critical") -> dict:
    return {"route": route, "dedup_key": "cw:api-errors", "message": MESSAGE}


def invoke(event: dict) -> dict:
    return handler(event, FakeLambdaContext(function_name="alert-intel-post"))


def test_posts_exactly_the_message_to_the_route_webhook(webhooks: SlackWebhookSink) -> None:
    # Given both webhooks configured and Slack answering 200 ok
    # When
    result = invoke(post_event("critical"))

    # Then one request reached the critical webhook, carrying exactly the message
    assert result == {
        "posted": True,
        "route": "critical",
        "status_code": 200,
        "attempts": 1,
        "remembered_for_chat": False,
    }
    assert len(webhooks.received) == 1
    received = webhooks.received[0]
    assert received.path.endswith("/B000CRITICAL/local-webhook")
    assert received.body == {**MESSAGE, **NO_UNFURL}
    assert received.headers["Content-Type"].startswith("application/json")


def test_heartbeat_goes_to_its_own_webhook(webhooks: SlackWebhookSink) -> None:
    # When
    result = invoke(post_event("heartbeat"))

    # Then
    assert result["route"] == "heartbeat"
    assert webhooks.received[0].path.endswith("/B000HEARTBEAT/local-webhook")


def test_heartbeat_without_its_own_webhook_falls_back_to_critical(aws: None, sink: SlackWebhookSink) -> None:
    # Given only a critical webhook
    store_webhooks({"critical": sink.webhook_url("critical")})

    # When
    result = invoke(post_event("heartbeat"))

    # Then
    assert result["posted"] is True
    assert sink.received[0].path.endswith("/B000CRITICAL/local-webhook")


def test_honours_retry_after_once_then_succeeds(webhooks: SlackWebhookSink, waits: list[float]) -> None:
    # Given Slack rate-limits the first request
    webhooks.queue(429, "rate_limited", {"Retry-After": "1"})

    # When
    result = invoke(post_event())

    # Then one post became two requests, after waiting what Slack asked
    assert result == {
        "posted": True,
        "route": "critical",
        "status_code": 200,
        "attempts": 2,
        "remembered_for_chat": False,
    }
    assert len(webhooks.received) == 2
    assert webhooks.received[1].body == {**MESSAGE, **NO_UNFURL}
    assert waits == [1.0]


def test_still_rate_limited_after_one_retry_raises_for_the_state_machine(
    webhooks: SlackWebhookSink, waits: list[float]
) -> None:
    # Given Slack rate-limits twice
    webhooks.queue(429, "rate_limited", {"Retry-After": "1"})
    webhooks.queue(429, "rate_limited", {"Retry-After": "1"})

    # When / Then
    with pytest.raises(SlackRateLimitedError, match=r"after 2 attempt\(s\)"):
        invoke(post_event())
    assert len(webhooks.received) == 2
    assert waits == [1.0]


def test_retry_after_longer_than_the_cap_is_left_to_the_state_machine(
    webhooks: SlackWebhookSink, waits: list[float]
) -> None:
    # Given Slack asks for a wait the Lambda cannot afford
    webhooks.queue(429, "rate_limited", {"Retry-After": "120"})

    # When / Then
    with pytest.raises(SlackRateLimitedError, match="Retry-After: 120 s"):
        invoke(post_event())
    assert len(webhooks.received) == 1
    assert waits == []


@pytest.mark.parametrize(
    ("status", "body"),
    [(404, "no_service"), (400, "no_service_id"), (403, "invalid_token"), (410, "channel_is_archived")],
)
def test_permanent_rejection_fails_loudly(webhooks: SlackWebhookSink, status: int, body: str) -> None:
    # Given
    webhooks.queue(status, body)

    # When / Then the error names the status and Slack's reason, and nothing is retried
    with pytest.raises(SlackPostError, match=rf"HTTP {status} '{body}'"):
        invoke(post_event())
    assert len(webhooks.received) == 1


@pytest.mark.parametrize("reason", ["invalid_blocks", "invalid_payload", "msg_too_long"])
def test_refused_blocks_still_reach_the_channel_as_text_and_fail_loudly(
    webhooks: SlackWebhookSink, reason: str
) -> None:
    # Given Slack refuses the message's blocks
    webhooks.queue(400, reason)

    # When / Then the stage fails, naming the reason and that the text went out
    with pytest.raises(SlackPostError, match=rf"HTTP 400 '{reason}'.*plain-text fallback was posted instead"):
        invoke(post_event())

    # and the second request carried the plain text alone
    assert [set(p.body) for p in webhooks.received] == [{*MESSAGE, *NO_UNFURL}, {"text", *NO_UNFURL}]
    fallback = webhooks.received[1].body["text"]
    assert fallback.startswith(MESSAGE["text"])
    assert f"Slack refused the full message: {reason}" in fallback


def test_text_fallback_failing_too_is_reported(webhooks: SlackWebhookSink) -> None:
    webhooks.queue(400, "invalid_blocks")
    webhooks.queue(404, "no_service")
    with pytest.raises(SlackPostError, match=r"invalid_blocks.*fallback failed too \(SlackRejectedError\)"):
        invoke(post_event())


def test_unreachable_webhook_is_a_post_error(aws: None, waits: list[float]) -> None:
    # Given a webhook URL on a port where nothing listens
    with SlackWebhookSink() as closed:
        url = closed.webhook_url("critical")
    store_webhooks({"critical": url})

    # When / Then
    with pytest.raises(SlackPostError, match=r"unreachable after 2 attempt\(s\)"):
        invoke(post_event())
    assert len(waits) == 1  # one in-process retry of a connection error


def test_missing_secret_is_a_configuration_error(aws: None) -> None:
    with pytest.raises(ConfigurationError, match="alert-intel/slack-webhooks"):
        invoke(post_event())


def test_secret_without_the_route_is_a_configuration_error(aws: None, sink: SlackWebhookSink) -> None:
    # Given only a heartbeat webhook
    store_webhooks({"heartbeat": sink.webhook_url("heartbeat")})

    # When / Then
    with pytest.raises(ConfigurationError, match="no webhook URL for route 'critical'"):
        invoke(post_event("critical"))


def test_secret_that_is_not_json_is_a_configuration_error(aws: None) -> None:
    store_webhooks("https://hooks.slack.com/services/T/B/x")
    with pytest.raises(ConfigurationError, match="not JSON"):
        invoke(post_event())


def test_a_slack_server_error_is_retried_once_in_process(webhooks: SlackWebhookSink, waits: list[float]) -> None:
    # Given Slack fails once with a 503
    webhooks.queue(503, "service_unavailable")

    # When
    result = invoke(post_event())

    # Then the second request went through
    assert result["attempts"] == 2
    assert len(webhooks.received) == 2
    assert len(waits) == 1


def test_repeated_server_errors_fail_loudly(webhooks: SlackWebhookSink, waits: list[float]) -> None:
    webhooks.queue(500, "internal_error")
    webhooks.queue(500, "internal_error")
    with pytest.raises(SlackPostError, match=r"HTTP 500 'internal_error' after 2 attempt\(s\)"):
        invoke(post_event())
