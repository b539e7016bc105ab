"""Lambda boundary of "Post Minimal Message" and of the failed-execution rule: the last line of defence."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.recover.logic import recover_from_catch, recover_from_status_change
from functions.recover.models import CaughtFailureInput, ExecutionStatusEvent
from functions.shared.adapters.secrets import webhook_url_for
from functions.shared.adapters.slack_webhook import SlackWebhook
from functions.shared.adapters.stepfunctions import ExecutionReader
from functions.shared.observability import logger, metrics, trace_handler, with_alert_keys
from functions.shared.stage_io import bounded_stage, parse_stage_input


@lru_cache(maxsize=1)
def slack_webhook() -> SlackWebhook:
    return SlackWebhook(webhook_url_for)


@bounded_stage()
@logger.inject_lambda_context
@trace_handler
@metrics.log_metrics
@with_alert_keys
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Post the minimal message for a run that could not process its alert (metric `AlertsRecovered`)."""
    if isinstance(event, dict) and event.get("source") == "aws.states":
        result = recover_from_status_change(
            parse_stage_input(event, ExecutionStatusEvent), slack_webhook(), ExecutionReader()
        )
    else:
        result = recover_from_catch(parse_stage_input(event, CaughtFailureInput), slack_webhook())
    if result.posted:
        metrics.add_metric(name="AlertsRecovered", unit=MetricUnit.Count, value=1)
    logger.info("Recover", extra={"posted": result.posted, "reason": result.reason})
    return result.model_dump(mode="json")
