"""Classify Alert: the state machine's first task (execution input -> {"route", "alert"})."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.classify.logic import classify
from functions.shared.models import PipelineInput, StageInput
from functions.shared.observability import logger, metrics, trace_handler, with_alert_keys
from functions.shared.stage_io import bounded_stage, parse_stage_input


@bounded_stage()
@logger.inject_lambda_context
@trace_handler
@metrics.log_metrics
@with_alert_keys
def handler(event: dict, context: LambdaContext) -> dict:
    # The state machine hands over the execution input with the execution's name (for the log keys).
    if isinstance(event, dict) and set(event) == {"execution_input", "execution_name"}:
        event = event["execution_input"]
    # An execution started by hand with a raw alert as its input is classified too, as a direct payload.
    if isinstance(event, dict) and "payload" in event:
        pipeline_input = parse_stage_input(event, PipelineInput)
    else:
        pipeline_input = PipelineInput(delivery="direct", payload=event)
    alert = classify(pipeline_input)
    metrics.add_metric(name="AlertsClassified", unit=MetricUnit.Count, value=1)
    if alert.source == "unknown":
        metrics.add_metric(name="UnrecognisedAlerts", unit=MetricUnit.Count, value=1)
    logger.info("Alert classified", source=alert.source, alert_type=alert.alert_type, severity=alert.severity)
    return StageInput(route=pipeline_input.route, alert=alert).model_dump(mode="json")
