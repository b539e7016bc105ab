"""Cost alerts (budgets, Cost Anomaly Detection, billing alarms): which service and usage type moved the bill,
an invocation storm behind it, and the bill's own commands (`cost_diagnostics`).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from functions.analyze.rules.commands import diagnostics_moment, function_option, in_region
from functions.analyze.rules.cost_resources import cost_resource, mechanism_advice, steady_spend, step_words
from functions.analyze.rules.fact_rule import FactRule
from functions.analyze.rules.facts import Detector, Facts, Finding, alarm_details, as_clause, fact_subject, log_summary
from functions.shared.alert_details import BudgetDetails
from functions.shared.aws_commands import BuiltCommand, ValueKind, build_command, opt
from functions.shared.investigate.usage_mechanisms import anomaly_usage
from functions.shared.models import Alert

_LAMBDA_MOVER = re.compile(r"^Lambda (?P<name>\S+):")
_COST_MOVER = re.compile(r"^(?:Top mover |Driven by usage type )?(?P<label>.+?): \$")
COST_WINDOW_DAYS = 14


def _cost_anomaly(alert: Alert, facts: Facts) -> Finding | None:
    cause = facts.get("cost.anomaly_root_cause.1")
    if cause is None:
        return None
    text = as_clause(cause.text.replace("Anomaly root cause 1: ", ""))
    sentence = f"Cost anomaly driven by {text}"
    mover = facts.get("cost.top_usage_type") or facts.get("cost.top_mover")
    if mover is not None:
        sentence += f"; Cost Explorer confirms it: {as_clause(mover.text)}"
    return Finding(
        root_cause=sentence + ".",
        confidence="high",
        evidence_keys=["cost.anomaly_root_cause.1", "cost.anomaly_impact", "cost.top_usage_type", "cost.top_mover"],
        recommendations=mechanism_advice(anomaly_usage(alert), cause)
        or [
            "Find what started calling this service on the anomaly's start date (a new job, client or loop).",
            "If the usage is not expected, stop its source, then set a budget or anomaly alert at a tighter threshold.",
        ],
    )


def _lambda_storm_cost(alert: Alert, facts: Facts) -> Finding | None:
    mover = facts.get("compute.lambda_mover")
    if mover is None:
        return None
    function = fact_subject(mover, _LAMBDA_MOVER, "name")
    name = function or "a Lambda function"
    cost = facts.get("cost.top_mover")
    lambda_cost = cost is not None and "Lambda" in (fact_subject(cost, _COST_MOVER, "label") or "")
    sentence = f"Invocation storm on Lambda {name}: {as_clause(mover.text.split(': ', 1)[-1])}"
    if cost is not None and lambda_cost:
        sentence += f", driving {as_clause(cost.text.replace('Top mover ', ''))}"
    logs = log_summary(facts)
    if logs:
        sentence += f"; {logs}"
    return Finding(
        root_cause=sentence + ".",
        confidence="high" if lambda_cost else "medium",
        evidence_keys=["compute.lambda_mover", "cost.top_mover", "cost.top_usage_type", "logs.pattern.1"],
        recommendations=[
            f"Find what invokes {name} (event source mappings, S3/SNS triggers, a caller in a retry loop); a function "
            "that writes to the bucket or queue that triggers it re-invokes itself.",
            f"Cap {name} with reserved concurrency while you fix the trigger, so the bill stops growing.",
        ],
        diagnostics=[
            in_region(alert, "lambda", "list-event-source-mappings", function_option(name)),
            in_region(alert, "lambda", "get-policy", function_option(name)),
        ]
        if function
        else [],
    )


def _cost_mover(alert: Alert, facts: Facts) -> Finding | None:
    mover = facts.get("cost.top_mover")
    if mover is None:
        return None
    usage = facts.get("cost.top_usage_type")
    service = fact_subject(mover, _COST_MOVER, "label") or "the top service"
    budget = alert.details_of(BudgetDetails)
    period_budget = facts.get("cost.budget_period")  # a daily (quarterly, yearly) budget: no month-end forecast
    forecast = period_budget is None and (
        alert.alert_type == "budget_forecast" or (budget is not None and budget.notification_type == "FORECASTED")
    )
    if forecast:
        sentence = f"The month-end forecast is over budget because {service} spend rose"
    else:
        sentence = f"Spend is driven by {service}"
    step = step_words(facts)
    # A step that began days ago is told by its onset and levels; its day-over-day change says nothing.
    sentence += f": {step}" if step else f": {as_clause(mover.text.split(': ', 1)[-1])}"
    if usage is not None:
        usage_type = usage.subject or (fact_subject(usage, _COST_MOVER, "label") or "").split(" / ")[-1]
        usage_label = usage_type or "its top usage type"
        sentence += f"; usage type {usage_label} accounts for the change"
    launches = facts.get("compute.recent_launches")
    if launches is not None and "Elastic Compute" in service:
        sentence += f"; new capacity: {as_clause(launches.text)}"
    if forecast and facts.get("cost.forecast") is not None:
        sentence += f" ({as_clause(facts.get('cost.forecast').text)})"  # type: ignore[union-attr]
    if period_budget is not None:
        sentence += f"; {as_clause(period_budget.text)}"
    return Finding(
        root_cause=sentence + ".",
        confidence="medium",
        evidence_keys=[
            "cost.top_mover",
            "cost.top_usage_type",
            "cost.onset",
            "compute.recent_launches",
            "cost.budget_period",
            "cost.forecast",
            "cost.month_to_date",
        ],
        recommendations=(mechanism_advice([(mover.subject, usage.subject)], usage) if usage is not None else None)
        or [
            f"Open {service} in Cost Explorer grouped by usage type and resource to find what changed.",
            "If the growth is expected (a launch, more traffic), raise the budget; otherwise remove or right-size the "
            "resources behind it.",
        ],
    )


def billing_alarm(alert: Alert, facts: Facts) -> Finding | None:
    """A billing alarm (AWS/Billing EstimatedCharges) is a cost alert: the cost detectors read it, and its commands
    read the bill."""
    if alarm_details(alert).namespace != "AWS/Billing":
        return None
    finding = next((f for f in (detect(alert, facts) for detect in COST_DETECTORS) if f is not None), None)
    finding = finding or cost_fallback(alert, facts)
    finding.diagnostics = finding.diagnostics + cost_diagnostics(alert, diagnostics_moment(alert, None), [])
    return finding


_cost_top_service = FactRule(
    key="cost.top_service",
    cause=lambda alert, top: f"Spend is driven by {as_clause(top.text)}",
    confidence="low",
    evidence_keys=("cost.top_service",),
    next_steps=("Open the top service in Cost Explorer grouped by usage type to find what changed.",),
)


def cost_fallback(alert: Alert, facts: Facts) -> Finding:
    return Finding(
        root_cause="Spend crossed the budget threshold; the cost context did not identify a driver.",
        confidence="low",
    )


# The cost detectors, most specific first: budgets, cost anomalies and billing alarms (`billing_alarm`).
COST_DETECTORS: tuple[Detector, ...] = (
    cost_resource,
    _cost_anomaly,
    _lambda_storm_cost,
    steady_spend,
    _cost_mover,
    _cost_top_service,
)


def cost_diagnostics(alert: Alert, when: datetime | None, resources: list[BuiltCommand]) -> list[BuiltCommand]:
    """The bill by service and usage type over the cost window, the account's budgets; then the resources'."""
    commands: list[BuiltCommand] = []
    if when is not None:
        start = when.date() - timedelta(days=COST_WINDOW_DAYS)
        end = when.date() + timedelta(days=1)  # Cost Explorer's End is exclusive: include the alert's day
        commands.append(
            build_command(
                "ce",
                "get-cost-and-usage",
                opt("--time-period", f"Start={start.isoformat()},End={end.isoformat()}", ValueKind.SHORTHAND),
                opt("--granularity", "DAILY"),
                opt("--metrics", ["UnblendedCost"]),
                opt(
                    "--group-by",
                    ["Type=DIMENSION,Key=SERVICE", "Type=DIMENSION,Key=USAGE_TYPE"],
                    ValueKind.SHORTHAND,
                ),
            )
        )
    if alert.account_id:
        commands.append(
            build_command("budgets", "describe-budgets", opt("--account-id", alert.account_id, ValueKind.ACCOUNT_ID))
        )
    return commands + resources
