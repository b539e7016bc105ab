"""A composite alarm leads to its children: which of them are in ALARM, and the resource the first one watches.

A composite alarm watches no metric of its own; what broke is in its children. Their names come from the alert
(EventBridge's `triggeringAlarms`, SNS's `TriggeringChildren`, both ARNs) and from the alarm rule
(`ALARM("CheckoutService-Errors") AND ALARM(arn:...)`); each is read with DescribeAlarms (its state, reason and
metric), at most `MAX_CHILDREN` of them. The first child in ALARM that watches a single metric gives the compute
playbook the metric to read and the resource to walk from, as if that child had fired.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from pydantic import BaseModel

from functions.shared import console_links
from functions.shared.adapters.cloudwatch import CloudWatchReader
from functions.shared.alert_details import CloudWatchAlarmDetails
from functions.shared.investigate.base import Evidence
from functions.shared.investigate.target import AlarmMetric, Target, target_of_dimensions
from functions.shared.models import Alert, Fact, ResourceRef
from functions.shared.registry import resource_type

MAX_CHILDREN = 3
# A child in an alarm rule: ALARM("name"), OK(name), INSUFFICIENT_DATA('arn:...'), quoted or not.
_RULE_CHILD = re.compile(r"\b(?:ALARM|OK|INSUFFICIENT_DATA)\(\s*[\"']?([^\"')]+?)[\"']?\s*\)")
# CloudWatch alarm names: up to 255 characters, no control characters.
_ALARM_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,255}")


class CompositeChildren(BaseModel):
    """What the children of a composite alarm showed, and the first firing child's metric and resource."""

    evidence: Evidence
    metric: AlarmMetric | None = None
    target: Target | None = None


def _name_of(reference: str) -> str:
    """An alarm name from a name or an alarm ARN (`arn:aws:cloudwatch:region:account:alarm:name`)."""
    return reference.split(":alarm:", 1)[1] if ":alarm:" in reference else reference


def child_alarm_names(alarm: CloudWatchAlarmDetails) -> list[str]:
    """The children to read, the ones that triggered first, then those the rule names; valid names only."""
    candidates = [*(alarm.triggering_alarms or []), *_RULE_CHILD.findall(alarm.alarm_rule or "")]
    names: list[str] = []
    for candidate in candidates:
        name = _name_of(str(candidate).strip())
        if _ALARM_NAME.fullmatch(name) and name not in names and name != alarm.alarm_name:
            names.append(name)
    return names[:MAX_CHILDREN]


def _metric_of(child: dict[str, Any]) -> AlarmMetric | None:
    if not child.get("Namespace") or not child.get("MetricName"):
        return None  # a metric-math or composite child: no single metric to read
    return AlarmMetric(
        namespace=str(child["Namespace"]),
        metric_name=str(child["MetricName"]),
        dimensions={str(d.get("Name")): str(d.get("Value")) for d in child.get("Dimensions") or [] if d.get("Name")},
        stat=str(child.get("Statistic") or child.get("ExtendedStatistic") or "Average"),
        period_seconds=max(60, int(child.get("Period") or 300)),
        threshold=child.get("Threshold"),
        comparison=child.get("ComparisonOperator"),
    )


def composite_children_evidence(cw: CloudWatchReader, alert: Alert) -> CompositeChildren | None:
    """The children of a composite alarm (None for any other alert): one fact per child, its state and reason."""
    alarm = alert.details_of(CloudWatchAlarmDetails)
    if alarm is None or alarm.alarm_kind != "composite":
        return None
    evidence = Evidence()
    names = child_alarm_names(alarm)
    if not names:
        evidence.notes.append("The composite alarm names no child alarm to look at.")
        return CompositeChildren(evidence=evidence)
    evidence.looked_at.append(f"Child alarms of the composite alarm: {', '.join(names)}")
    result = CompositeChildren(evidence=evidence)
    for name in names:
        child = evidence.read(f"alarm {name}", partial(cw.alarm, name))
        if child is None:
            if not evidence.missing_permissions:
                evidence.notes.append(f"Child alarm {name} was not found in this account and region.")
            continue
        state = str(child.get("StateValue") or "unknown")
        reason = str(child.get("StateReason") or "")
        metric = _metric_of(child)
        watches = f" on {metric.namespace} {metric.metric_name}" if metric else ""
        fact = Fact(
            key="compute.child_alarm",
            text=f"Child alarm {name}{watches}: {state}" + (f" ({reason[:160]})" if reason else ""),
            value=state,
            subject=name,
            link=console_links.cloudwatch_alarm_url(name, alert.region),
        )
        if state == "ALARM" and metric is not None and result.metric is None:
            region = alert.region or (alert.resource.region if alert.resource else None)
            result.metric = metric
            result.target = target_of_dimensions(metric.namespace, metric.dimensions, region)
            if result.target is not None:
                # The rules read the firing child as the alert they explain (`analyze.rules.effective_alert`).
                fact.key = "compute.child_alarm.firing"
                fact.resource = ResourceRef(
                    type=resource_type(result.target.kind).cfn_type, name=result.target.name, region=region
                )
        evidence.facts.append(fact)
    return result


def composite_child_target(cw: CloudWatchReader, alert: Alert) -> Target | None:
    """The resource of a composite alarm's first child in ALARM (None for any other alert, or none found)."""
    children = composite_children_evidence(cw, alert)
    return children.target if children is not None else None
