"""Ingest: SNS / EventBridge / HTTPS deliveries in, one alert-pipeline execution per alert out."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.ingest.alarm_routing import cloudwatch_alarm_lookup, route_alarm_state_changes
from functions.ingest.logic import read_event, start_pipeline
from functions.ingest.models import IngestSummary
from functions.shared.adapters.aws import import_sdk
from functions.shared.adapters.stepfunctions import step_functions_starter
from functions.shared.observability import logger, metrics, trace_handler, with_alert_keys
from functions.shared.settings import get_ingest_settings

# Every invocation calls AWS (decision 0021): the SDK loads with the module, in the Lambda init.
import_sdk()


@logger.inject_lambda_context
@trace_handler
@metrics.log_metrics
@with_alert_keys
def handler(event: dict, context: LambdaContext) -> dict:
    ingested = read_event(event)
    settings = get_ingest_settings()
    routing = route_alarm_state_changes(
        ingested.inputs,
        lookup=cloudwatch_alarm_lookup,
        alert_topics=settings.alert_topic_arns.split(","),
        own_alarm_prefix=settings.own_alarm_prefix,
    )
    ingested.inputs, ingested.notices = routing.kept, [*ingested.notices, *routing.notices]
    for notice in ingested.notices:
        logger.warning(notice)
    results = start_pipeline(ingested.inputs, step_functions_starter())
    summary = IngestSummary(
        started=sum(r.status == "started" for r in results),
        duplicates=sum(r.status == "duplicate" for r in results),
        executions=results,
        notices=ingested.notices,
    )
    metrics.add_metric(name="AlertsStarted", unit=MetricUnit.Count, value=summary.started)
    metrics.add_metric(name="DuplicateDeliveries", unit=MetricUnit.Count, value=summary.duplicates)
    logger.info("Ingested", started=summary.started, duplicates=summary.duplicates)
    return summary.model_dump(mode="json")
