"""Any CloudWatch alarm, whatever its resource: it fired without a breach (a false alarm), it is no longer
firing, the logs explain it, or nothing does (the fallback); and the alarm's own state history.
"""

from __future__ import annotations

import re
from datetime import datetime

from functions.analyze.rules.commands import in_region
from functions.analyze.rules.facts import (
    Facts,
    Finding,
    alarm_details,
    alert_resource_name,
    as_clause,
    hits_timeout,
    log_error_count,
    log_summary,
    threshold_not_crossed,
)
from functions.shared.aws_commands import BuiltCommand, ValueKind, opt
from functions.shared.models import Alert

_MISSING_DATA_BREACHING = re.compile(r"missing datapoints? (?:was|were) treated as \[?breaching", re.IGNORECASE)


def false_alarm(alert: Alert, facts: Facts) -> Finding | None:
    metric_fact = facts.get("compute.alarm_metric")
    reason = alarm_details(alert).state_reason or ""
    missing_data = bool(_MISSING_DATA_BREACHING.search(reason))
    not_crossed = metric_fact is not None and threshold_not_crossed(metric_fact)
    errors = log_error_count(facts)
    if not (missing_data or not_crossed):
        return None
    if errors:  # errors in the logs: something is wrong after all
        return None
    if not missing_data and _reason_shows_breach(reason):
        # The alarm itself saw breaching datapoints that our window does not: a short spike, not a false alarm.
        return None
    if facts.get("compute.recent_change") is not None and not missing_data:
        return None
    metric = alarm_details(alert).metric_name or "the alarm's metric"
    name = alert_resource_name(alert)
    parts = [f"No sign of a problem on {name}"]
    if metric_fact is not None:
        parts.append(
            f"{metric} stayed at its normal level ({as_clause(metric_fact.text.replace('Alarm metric ', ''))})"
        )
    if errors == 0:
        parts.append("the logs show no errors")
    cause = (
        "the alarm fired because missing datapoints are treated as breaching"
        if missing_data
        else "the threshold was not crossed in the data"
    )
    sentence = "; ".join(parts) + f". This is a false alarm: {cause}."
    return Finding(
        root_cause=sentence,
        confidence="high" if errors == 0 else "medium",
        verdict="false_alarm",
        evidence_keys=["compute.alarm_metric", "logs.error_count", "compute.metric.Invocations"],
        recommendations=[
            "No action is needed on the resource.",
            "Fix the alarm: set TreatMissingData to notBreaching for metrics that are only emitted when the "
            "function runs, or match the period to the schedule.",
        ],
    )


_REASON_DATAPOINTS = re.compile(r"datapoints? \[(?P<points>[^\]]*)\] (?:was|were) (?P<verdict>not )?", re.IGNORECASE)


def _reason_shows_breach(reason: str) -> bool:
    """Whether CloudWatch's own state reason reports datapoints that crossed the threshold."""
    match = _REASON_DATAPOINTS.search(reason)
    return bool(match and match.group("points").strip() and not match.group("verdict"))


def errors_with_logs(alert: Alert, facts: Facts) -> Finding | None:
    logs = log_summary(facts)
    if logs is None:
        return None
    metric = alarm_details(alert).metric_name or alert.alert_type
    timeout = hits_timeout(facts)
    return Finding(
        root_cause=f"{metric} on {alert_resource_name(alert)} breached its threshold; {logs}"
        + (f"; {timeout}." if timeout else "."),
        confidence="medium",
        evidence_keys=["compute.alarm_metric", "logs.pattern.1", "logs.error_count"],
        recommendations=["Fix the error the logs point at; the most frequent pattern is listed first."],
    )


def alarm_fallback(alert: Alert, facts: Facts) -> Finding:
    metric = alarm_details(alert).metric_name or alert.alert_type
    metric_fact = facts.get("compute.alarm_metric")
    sentence = f"{metric} on {alert_resource_name(alert)} breached its threshold"
    if metric_fact is not None:
        sentence += f": {as_clause(metric_fact.text.replace('Alarm metric ', ''))}"
    return Finding(
        root_cause=sentence + "; the gathered context does not show why.",
        confidence="low",
        evidence_keys=["compute.alarm_metric"],
        recommendations=[
            "Check whether a recent deploy or configuration change lines up with the breach.",
            "Look at the resource's logs around the breach for the failing request path.",
        ],
    )


def alarm_no_longer_firing(alert: Alert, facts: Facts) -> Finding | None:
    if alert.severity != "info" and (alarm_details(alert).state or "ALARM").upper() == "ALARM":
        return None
    metric = alarm_details(alert).metric_name or alert.alert_type
    name = alert_resource_name(alert)
    return Finding(
        root_cause=f"The alarm on {metric} for {name} is no longer in ALARM; no action is needed.",
        confidence="high",
    )


def alarm_diagnostics(alert: Alert, when: datetime | None, resources: list[BuiltCommand]) -> list[BuiltCommand]:
    """The resources' commands, then the alarm's state history."""
    alarm_name = alarm_details(alert).alarm_name
    if not alarm_name:
        return resources
    history = in_region(
        alert,
        "cloudwatch",
        "describe-alarm-history",
        opt("--alarm-name", str(alarm_name), ValueKind.ALARM_NAME),
        opt("--history-item-type", "StateUpdate"),
        max_items=10,
    )
    return [*resources, history]
