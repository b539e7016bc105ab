"""Lambda boundary of the "Post To Slack" state."""

from __future__ import annotations

from functools import lru_cache

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.post.logic import post_message
from functions.post.on_demand import post_in_thread, reply_target
from functions.shared.adapters.aws import import_sdk
from functions.shared.adapters.conversations import ConversationTable, conversation_table
from functions.shared.adapters.secrets import webhook_url_for
from functions.shared.adapters.slack_api import SlackApi, slack_api
from functions.shared.adapters.slack_webhook import SlackWebhook, import_webhook_client
from functions.shared.models import PostInput
from functions.shared.observability import logger, metrics, trace_handler, with_alert_keys
from functions.shared.settings import get_settings
from functions.shared.stage_io import bounded_stage, parse_stage_input

# Every invocation reads a secret or the incident table and sends to Slack (decision 0021): the AWS SDK and
# slack_sdk's webhook client load with the module, in the Lambda init, not in the first request.
import_sdk()
import_webhook_client()


@lru_cache(maxsize=1)
def slack_webhook() -> SlackWebhook:
    return SlackWebhook(webhook_url_for)


def bot_poster(route: str) -> tuple[SlackApi | None, str | None]:
    """The Web API poster and the route's channel, when SLACK_ALERT_CHANNELS names one (the bot token mode)."""
    channel = get_settings().slack_alert_channels.get(route)
    return (slack_api(), channel) if channel else (None, None)


def alert_memory() -> ConversationTable | None:
    """The chat bot's table, when this deployment has one (CONVERSATIONS_TABLE)."""
    table_name = get_settings().conversations_table
    return conversation_table(table_name) if table_name else None


@bounded_stage()
@logger.inject_lambda_context
@trace_handler
@metrics.log_metrics
@with_alert_keys
def handler(event: dict, context: LambdaContext) -> dict:
    """Post the formatted message to the route's Slack webhook."""
    post_input = parse_stage_input(event, PostInput)
    memory = alert_memory()
    target = reply_target(event.get("execution_name"), get_settings().slack_alert_channels)
    if target is not None:  # Analyze with AI, clicked on a heartbeat message: answer in its thread
        return post_in_thread(post_input, slack_api(), target, memory).model_dump(mode="json")
    web, channel = bot_poster(post_input.route)
    result = post_message(post_input, slack_webhook(), memory, web=web, channel=channel, incidents=memory)
    return result.model_dump(mode="json")
