"""Posting a formatted message to the Slack webhook of its route."""

from __future__ import annotations

from typing import Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit

from functions.shared.adapters.slack_webhook import WebhookDelivery
from functions.shared.errors import SlackRateLimitedError
from functions.shared.models import PostInput, PostResult, Route
from functions.shared.observability import logger, metrics


class WebhookSender(Protocol):
    def send(self, route: Route, body: dict[str, Any]) -> WebhookDelivery: ...


def post_message(post_input: PostInput, sender: WebhookSender) -> PostResult:
    """Send the message to the route's webhook and count the outcome (metrics `SlackPosts`,
    `SlackPostFailures`, `SlackRateLimited`).

    The body sent is exactly the message: `{"text": ..., "blocks": [...]}`.

    Raises:
        ConfigurationError: no webhook configured for the route.
        SlackRateLimitedError: Slack kept answering 429 (the state machine retries with backoff).
        SlackPostError: Slack rejected the message or could not be reached (the run fails loudly).
    """
    body = post_input.message.model_dump(mode="json")
    try:
        delivery = sender.send(post_input.route, body)
    except SlackRateLimitedError:
        metrics.add_metric(name="SlackRateLimited", unit=MetricUnit.Count, value=1)
        raise
    except Exception:
        metrics.add_metric(name="SlackPostFailures", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name="SlackPosts", unit=MetricUnit.Count, value=1)
    if delivery.attempts > 1:
        metrics.add_metric(name="SlackPostRetries", unit=MetricUnit.Count, value=delivery.attempts - 1)
    logger.info(
        "Posted to Slack",
        extra={"route": post_input.route, "dedup_key": post_input.dedup_key, "attempts": delivery.attempts},
    )
    return PostResult(posted=True, route=post_input.route, status_code=delivery.status_code, attempts=delivery.attempts)
