"""Lambda boundary of the "Post To Slack" state."""

from __future__ import annotations

from functools import lru_cache

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.post.logic import post_message
from functions.shared.adapters.secrets import webhook_url_for
from functions.shared.adapters.slack_webhook import SlackWebhook
from functions.shared.models import PostInput
from functions.shared.observability import logger, metrics, tracer
from functions.shared.stage_io import parse_stage_input


@lru_cache(maxsize=1)
def slack_webhook() -> SlackWebhook:
    return SlackWebhook(webhook_url_for)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    """Post the formatted message to the route's Slack webhook."""
    post_input = parse_stage_input(event, PostInput)
    return post_message(post_input, slack_webhook()).model_dump(mode="json")
