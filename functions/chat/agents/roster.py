"""The three specialists: what each knows, which tools it may call, and its plan when no model is configured."""

from __future__ import annotations

import re

from functions.chat.agents.specialist import Specialist
from functions.chat.tools import PlannedCall
from functions.shared.chat_models import AgentName, AlertContext

# Tool names, as `functions.chat.aws_tools.default_toolbox` registers them.
COST_BY_SERVICE = "cost_by_service"
BUDGETS_STATUS = "budgets_status"
COST_FORECAST = "cost_forecast"
LIST_LAMBDA_FUNCTIONS = "list_lambda_functions"
LAMBDA_METRICS = "lambda_metrics"
EC2_INSTANCE = "ec2_instance"
LOG_ERRORS = "log_errors"
LOG_PATTERN_SEARCH = "log_pattern_search"
RECENT_CHANGES = "recent_changes"

# CamelCase names (ImageProcessor), dashed/underscored names (image-processor-prod), instance ids.
_RESOURCE_NAME = re.compile(
    r"\b(i-[0-9a-f]{8,17}|[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+|[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)+)\b"
)
_NOT_RESOURCES = {"CloudWatch", "CostExplorer", "LogsInsights", "AWS", "Lambda", "EC2"}


def resource_hint(question: str, alert_context: AlertContext | None) -> str | None:
    """The resource the question is about: a name it mentions, else the alert's resource."""
    for match in _RESOURCE_NAME.finditer(question):
        name = match.group(1)
        if name not in _NOT_RESOURCES and not name.lower().startswith(("day-over", "month-to", "year-over")):
            return name
    if alert_context is not None and alert_context.resource:
        return alert_context.resource.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    return None


_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")


def _in_alert_region(args: dict[str, str], alert_context: AlertContext | None) -> dict[str, str]:
    """The planned call's arguments, reading in the alert's region when it names a valid one."""
    region = alert_context.region if alert_context is not None else None
    return {**args, "region": region} if region and _REGION.fullmatch(region) else args


def _cost_plan(question: str, alert_context: AlertContext | None) -> list[PlannedCall]:
    return [
        PlannedCall(COST_BY_SERVICE, {}),
        PlannedCall(BUDGETS_STATUS, {}),
        PlannedCall(COST_FORECAST, {}),
    ]


# "what changed", "was it deployed", "who modified it", "any config change": a question about recent writes.
_CHANGE_QUESTION = re.compile(r"\b(chang\w*|deploy\w*|modif\w*|updat\w*|rollback|rolled back|who\b)", re.IGNORECASE)


def _infra_plan(question: str, alert_context: AlertContext | None) -> list[PlannedCall]:
    name = resource_hint(question, alert_context)
    if name and _CHANGE_QUESTION.search(question):
        return [PlannedCall(RECENT_CHANGES, _in_alert_region({"resource_name": name}, alert_context))]
    if name and name.startswith("i-"):
        return [PlannedCall(EC2_INSTANCE, _in_alert_region({"instance_id": name}, alert_context))]
    if name:
        return [PlannedCall(LAMBDA_METRICS, _in_alert_region({"function_name": name}, alert_context))]
    return [PlannedCall(LIST_LAMBDA_FUNCTIONS, _in_alert_region({}, alert_context))]


def _logs_plan(question: str, alert_context: AlertContext | None) -> list[PlannedCall]:
    name = resource_hint(question, alert_context)
    if name:
        return [PlannedCall(LOG_ERRORS, _in_alert_region({"function_name": name}, alert_context))]
    return [PlannedCall(LOG_ERRORS, _in_alert_region({}, alert_context))]


COST_ANALYST = Specialist(
    name="CostAnalyst",
    role=(
        "You explain AWS spend: which services cost what, what changed day over day, budgets and forecasts. "
        "Start with cost_by_service, then budgets_status or cost_forecast when the question is about budgets or "
        "the month's outlook. Quote dollar amounts and percentages from the tools."
    ),
    tool_names=(COST_BY_SERVICE, BUDGETS_STATUS, COST_FORECAST, LAMBDA_METRICS),
    plan=_cost_plan,
)
INFRA_EXPERT = Specialist(
    name="InfraExpert",
    role=(
        "You explain how Lambda functions and EC2 instances behave, from their configuration and CloudWatch metrics: "
        "invocations, errors, throttles, duration, concurrency, CPU; and what changed on a resource (recent_changes: "
        "CloudTrail's recorded writes, alarm redefinitions, secret changes). Name the function or instance and the "
        "time window of every number, and who changed what, when."
    ),
    tool_names=(LIST_LAMBDA_FUNCTIONS, LAMBDA_METRICS, EC2_INSTANCE, RECENT_CHANGES),
    plan=_infra_plan,
)
LOGS_ANALYST = Specialist(
    name="LogsAnalyst",
    role=(
        "You read CloudWatch Logs with Logs Insights: recent errors in a function's or log group's logs, and "
        "searches for a pattern. Quote at most a few short log lines and say how many matched."
    ),
    tool_names=(LOG_ERRORS, LOG_PATTERN_SEARCH, LIST_LAMBDA_FUNCTIONS),
    plan=_logs_plan,
)

SPECIALISTS_BY_NAME: dict[AgentName, Specialist] = {s.name: s for s in (COST_ANALYST, INFRA_EXPERT, LOGS_ANALYST)}
