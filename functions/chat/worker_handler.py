"""Lambda invoked asynchronously by the events endpoint: answer one question in its Slack thread, or do what a
button click asks (`functions.chat.actions`; the payload's `interaction` field says it is a click)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.chat.actions import ActionDeps, act_on_click
from functions.chat.agents.specialist import Limits
from functions.chat.aws_tools import default_toolbox
from functions.chat.graph import SupervisorDeps
from functions.chat.settings import ChatSettings, get_worker_settings
from functions.chat.worker import WorkerDeps, answer_chat_request
from functions.shared.adapters.bedrock import estimate_cost_usd, get_bedrock_model
from functions.shared.adapters.conversations import conversation_table
from functions.shared.adapters.incident_actions import IncidentActionsTable, PipelineRuns
from functions.shared.adapters.slack_api import slack_api
from functions.shared.chat_models import ChatRequest, ChatResult
from functions.shared.observability import logger, metrics, trace_handler, with_alert_keys
from functions.shared.slack_actions import SlackActionRequest
from functions.shared.stage_io import parse_stage_input


def limits_from(settings: ChatSettings) -> Limits:
    return Limits(
        max_steps=settings.max_agent_steps,
        max_output_tokens=settings.max_output_tokens,
        max_total_tokens=settings.max_total_tokens,
        max_tool_result_chars=settings.max_tool_result_chars,
    )


def worker_deps() -> WorkerDeps:
    settings = get_worker_settings()
    slack = slack_api()
    return WorkerDeps(
        store=conversation_table(settings.conversations_table),
        slack=slack,
        supervisor=SupervisorDeps(toolbox=default_toolbox(), model=get_bedrock_model(), limits=limits_from(settings)),
        thread_parent=slack.thread_parent,
    )


def action_deps() -> ActionDeps:
    settings = get_worker_settings()
    return ActionDeps(
        incidents=IncidentActionsTable(settings.conversations_table),
        slack=slack_api(),
        runs=PipelineRuns(settings.state_machine_arn) if settings.state_machine_arn else None,
        alert_channels=settings.slack_alert_channels,
    )


@logger.inject_lambda_context
@trace_handler
@metrics.log_metrics
@with_alert_keys
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Answer the question; posting or storage failures raise: Lambda does not retry (a retry could answer twice),
    the event goes to the chat worker's dead-letter queue, and a meta-alarm tells the operators."""
    if isinstance(event, dict) and event.get("interaction") == "block_actions":
        action = parse_stage_input(event, SlackActionRequest)
        done = act_on_click(action, action_deps())
        metrics.add_metric(name="SlackActions", unit=MetricUnit.Count, value=1 if done.outcome != "ignored" else 0)
        return done.model_dump(mode="json")
    request = parse_stage_input(event, ChatRequest)
    result = answer_chat_request(request, worker_deps())
    emit_metrics(result)
    return result.model_dump(mode="json")


def emit_metrics(result: ChatResult) -> None:
    """The chat metrics the dashboard and the daily LLM cost alarm read (no dimensions: they sum everywhere)."""
    metrics.add_metric(name="ChatQuestionsAnswered", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="Conversations", unit=MetricUnit.Count, value=1 if result.new_conversation else 0)
    metrics.add_metric(name="ToolExecutions", unit=MetricUnit.Count, value=len(result.tools_used))
    tokens = result.input_tokens + result.output_tokens
    if result.model_id and tokens:
        metrics.add_metric(name="LLMTokensUsed", unit=MetricUnit.Count, value=tokens)
        cost = estimate_cost_usd(result.model_id, result.input_tokens, result.output_tokens)
        metrics.add_metric(name="LLMCostUSD", unit=MetricUnit.NoUnit, value=cost)
