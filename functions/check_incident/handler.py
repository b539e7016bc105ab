"""Lambda boundary of the "Check Incident" and "Check Incident Again" states
({"route", "alert", "execution_id", "execution_name", "waits"} -> IncidentCheck)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from functions.check_incident.logic import decide
from functions.shared.init_phase import warm_up
from functions.shared.models import StageInput
from functions.shared.observability import logger, metrics, trace_handler, with_alert_keys
from functions.shared.settings import get_settings
from functions.shared.stage_io import bounded_stage, parse_stage_input

if TYPE_CHECKING:
    from functions.shared.adapters.conversations import ConversationTable


class CheckIncidentInput(StageInput):
    execution_id: str | None = None  # for the "View run" link of the compact line
    execution_name: str | None = None  # who claims a new incident (decision 0020)
    waits: int = Field(default=0, ge=0, le=100)  # "Check Incident Again": how often this run waited for a claim


def incident_memory(route: str) -> ConversationTable | None:
    """The incident records Post keeps, in the bot-token mode only: a channel for the route (SLACK_ALERT_CHANNELS)
    and the table (CONVERSATIONS_TABLE). Webhook-only mode has no incident memory: it cannot edit a message."""
    settings = get_settings()
    if not settings.slack_alert_channels.get(route) or not settings.conversations_table:
        return None
    # Imported here, not at the top: webhook-only mode never reads the table, so it never loads botocore
    # (decision 0021); bot-token mode loads it at init through the warm-up below.
    from functions.shared.adapters.conversations import conversation_table

    return conversation_table(settings.conversations_table)


def _incident_table_client() -> None:
    """Bot-token mode reads the table on every invocation: build its client (and import botocore) at init."""
    settings = get_settings()
    if settings.conversations_table and settings.slack_alert_channels:
        from functions.shared.adapters.aws import aws_client

        aws_client("dynamodb")


warm_up(_incident_table_client, "incident table client")


@bounded_stage()
@logger.inject_lambda_context
@trace_handler
@metrics.log_metrics
@with_alert_keys
def handler(event: dict, context: LambdaContext) -> dict:
    check_input = parse_stage_input(event, CheckIncidentInput)
    memory = incident_memory(check_input.route)
    check = decide(
        check_input.alert,
        memory,
        execution_id=check_input.execution_id,
        claims=memory,
        execution_name=check_input.execution_name,
        waits=check_input.waits,
        wait_seconds=get_settings().incident_claim_wait_seconds,
    )
    return check.model_dump(mode="json")
