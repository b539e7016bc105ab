"""Lambda functions: throttled at a concurrency limit, an invocation spike, out of memory; and a
function's read-only commands (configuration, recent errors).
"""

from __future__ import annotations

from datetime import datetime

from functions.analyze.rules.commands import (
    LOG_WINDOW_AFTER,
    LOG_WINDOW_BEFORE,
    alert_function_name,
    diagnostics_moment,
    epoch_ms,
    function_log_group,
    function_option,
    in_region,
    recent_errors,
)
from functions.analyze.rules.fact_rule import FactRule
from functions.analyze.rules.facts import (
    Facts,
    Finding,
    alarm_details,
    alert_resource_name,
    as_clause,
    log_summary,
    metric_peak,
    rose,
)
from functions.shared.aws_commands import BuiltCommand, ValueKind, kind_problem, opt
from functions.shared.models import Alert, Fact


def throttled_at_limit(alert: Alert, facts: Facts) -> Finding | None:
    throttles = metric_peak(facts, alert, "Throttles")
    if not throttles:
        return None
    name = alert_resource_name(alert)
    reserved = facts.number("compute.reserved_concurrency")
    concurrency = metric_peak(facts, alert, "ConcurrentExecutions")
    invocations = facts.get("compute.metric.Invocations")
    if reserved is not None:
        sentence = f"{name} is throttled at its reserved concurrency limit of {int(reserved)}"
        if concurrency is not None:
            sentence += f": ConcurrentExecutions peaked at {concurrency:g}"
    else:
        sentence = f"{name} is throttled: it hit the account's concurrency limit (no reserved concurrency is set)"
    if invocations is not None and rose(invocations):
        sentence += f" while traffic rose ({as_clause(invocations.text)})"
    sentence += f"; {throttles:,.0f} throttles at the peak"
    return Finding(
        root_cause=sentence + ".",
        confidence="high"
        if reserved is not None and concurrency is not None and concurrency >= reserved * 0.95
        else "medium",
        evidence_keys=[
            "compute.alarm_metric",
            "compute.reserved_concurrency",
            "compute.metric.ConcurrentExecutions",
            "compute.metric.Invocations",
        ],
        recommendations=[
            f"Raise {name}'s reserved concurrency (or remove it) if the extra traffic is legitimate.",
            "If it is not, find the caller behind the surge; throttled asynchronous events are retried, so the "
            "backlog drains once concurrency allows.",
        ],
        diagnostics=_throttle_diagnostics(alert),
    )


def _throttle_diagnostics(alert: Alert) -> list[BuiltCommand]:
    name = alert_function_name(alert)
    if name is None:
        return []
    return [
        in_region(alert, "lambda", "get-function-concurrency", function_option(name)),
        in_region(alert, "lambda", "get-account-settings"),
    ]


def invocation_spike(alert: Alert, facts: Facts) -> Finding | None:
    if alarm_details(alert).metric_name != "Invocations":
        return None
    metric_fact = facts.get("compute.alarm_metric")
    ratio = facts.number("compute.alarm_metric")
    if metric_fact is None or (ratio is not None and ratio < 2):
        return None
    name = alert_resource_name(alert)
    sentence = f"Invocation storm on {name}: {as_clause(metric_fact.text.replace('Alarm metric ', ''))}"
    logs = log_summary(facts)
    if logs:
        sentence += f"; {logs}"
    return Finding(
        root_cause=sentence + ".",
        confidence="medium",
        evidence_keys=["compute.alarm_metric", "compute.metric.Errors", "logs.pattern.1"],
        recommendations=[f"Find what invokes {name} and whether it is retrying or re-triggering itself."],
    )


_OOM_PATTERN = '"Runtime.OutOfMemory"'


def _out_of_memory_function(alert: Alert, oom: Fact) -> str:
    return oom.subject or alert_resource_name(alert)


def _out_of_memory_cause(alert: Alert, oom: Fact) -> str:
    if oom.via is not None:  # the alert's resource calls the function that runs out of memory
        return f"{alert_resource_name(alert)}'s {oom.via.split(' (')[0]} fails: {as_clause(oom.text)}"
    return as_clause(oom.text)


def _out_of_memory_advice(alert: Alert, oom: Fact) -> list[str]:
    size = oom.numbers.threshold if oom.numbers is not None else None
    memory = f"{size:g} MB" if size is not None else "its current setting"
    return [
        f"Raise {_out_of_memory_function(alert, oom)}'s memory above {memory} (e.g. double it) to stop the failures "
        "now; more memory also brings more CPU.",
        "Then find what grew: larger inputs or payloads, or a leak across invocations (objects kept at module "
        "level, caches without a bound).",
    ]


def _out_of_memory_log_lines(alert: Alert, oom: Fact) -> list[BuiltCommand]:
    """The function's out-of-memory lines around the alert."""
    function = _out_of_memory_function(alert, oom)
    when = diagnostics_moment(alert, None)
    if kind_problem(function, ValueKind.LAMBDA_FUNCTION) or when is None:
        return []
    return [
        in_region(
            alert,
            "logs",
            "filter-log-events",
            opt("--log-group-name", function_log_group(function), ValueKind.LOG_GROUP),
            opt("--start-time", epoch_ms(when - LOG_WINDOW_BEFORE), ValueKind.EPOCH_MS),
            opt("--end-time", epoch_ms(when + LOG_WINDOW_AFTER), ValueKind.EPOCH_MS),
            opt("--filter-pattern", _OOM_PATTERN, ValueKind.PATTERN),
            max_items=20,
        )
    ]


lambda_out_of_memory = FactRule(
    key="compute.out_of_memory",
    cause=_out_of_memory_cause,
    context_keys=("compute.recent_change",),
    with_logs=True,
    evidence_keys=("compute.out_of_memory", "compute.lambda_config", "logs.pattern.1", "compute.recent_change"),
    next_steps=_out_of_memory_advice,
    diagnostics=_out_of_memory_log_lines,
)


def lambda_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    function = alert_function_name(alert)
    if function is None:
        return []
    # The builder adds a --query that leaves the function's environment variables (often secrets) out.
    commands = [in_region(alert, "lambda", "get-function-configuration", function_option(function))]
    if not kind_problem(function, ValueKind.LAMBDA_FUNCTION):
        commands.append(recent_errors(alert, function_log_group(function), when))
    return commands
