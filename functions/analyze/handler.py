"""Analyze Alert: Claude on Bedrock when a model is configured, the rule-based analysis otherwise."""

from __future__ import annotations

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.analyze.logic import analyze_alert
from functions.shared.adapters.bedrock import get_bedrock_model
from functions.shared.init_phase import warm_up
from functions.shared.models import AnalyzeInput
from functions.shared.observability import logger, metrics, trace_handler, with_alert_keys
from functions.shared.stage_io import bounded_stage, parse_stage_input
from functions.shared.state_bounds import bound_analysis

# With a model configured every invocation calls it: import the SDK and build its client at init, not in the first
# request. With none (the rule-based analysis) this imports nothing.
warm_up(get_bedrock_model, "bedrock model")


@bounded_stage()
@logger.inject_lambda_context
@trace_handler
@metrics.log_metrics
@with_alert_keys
def handler(event: dict, context: LambdaContext) -> dict:
    """Return the Analysis for one alert; raises BedrockThrottledError for the state machine to retry."""
    analyze_input = parse_stage_input(event, AnalyzeInput)
    return bound_analysis(analyze_alert(analyze_input, get_bedrock_model())).model_dump(mode="json")
