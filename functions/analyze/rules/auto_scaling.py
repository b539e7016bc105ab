"""Auto Scaling groups: a group that cannot launch or is at its maximum, CPU saturation across a group
that can still scale; and the group's commands.
"""

from __future__ import annotations

from datetime import datetime

from functions.analyze.rules.commands import alert_asg_name, in_region
from functions.analyze.rules.facts import (
    CPU_SATURATED_PERCENT,
    Facts,
    Finding,
    alarm_details,
    alarm_namespace,
    as_clause,
    metric_fact_text,
    metric_peak,
    with_facts,
)
from functions.shared.aws_commands import BuiltCommand, opt
from functions.shared.models import Alert

# Alarms a group's capacity explains: the instances' own load, the group's metrics, the targets' count and speed.
_CAPACITY_NAMESPACES = {None, "", "AWS/EC2", "AWS/AutoScaling"}
_CAPACITY_METRICS = {"HealthyHostCount", "UnHealthyHostCount", "TargetResponseTime", "RequestCountPerTarget"}


def asg_cannot_scale(alert: Alert, facts: Facts) -> Finding | None:
    failed = facts.get("compute.asg_launch_failed")
    at_max = facts.get("compute.asg_at_max")
    if failed is None and at_max is None:
        return None
    metric_name = alarm_details(alert).metric_name or ""
    if metric_name.startswith("StatusCheckFailed"):
        return None  # one instance's failed host: its own playbook, whatever its group is doing
    if alarm_namespace(alert) not in _CAPACITY_NAMESPACES and metric_name not in _CAPACITY_METRICS:
        return None  # e.g. a load balancer's 5XX: a group found two hops away is not why requests fail
    group = facts.get("compute.asg")
    name = (group.subject if group else None) or alert_asg_name(alert) or "the Auto Scaling group"
    metric = alarm_details(alert).metric_name or alert.alert_type
    if failed is not None:
        sentence = f"Auto Scaling group {name} cannot launch instances: {as_clause(failed.text)}"
    else:
        sentence = f"Auto Scaling group {name} cannot scale out: {as_clause(at_max.text)}"  # type: ignore[union-attr]
    if group is not None:
        sentence += f"; {as_clause(group.text)}"
    metric_text = metric_fact_text(facts, alert, metric) if metric else None
    if metric_text:
        sentence += f"; meanwhile {metric_text}"
    return Finding(
        root_cause=sentence + ".",
        confidence="high",
        evidence_keys=["compute.asg_launch_failed", "compute.asg_at_max", "compute.asg", "compute.alarm_metric"],
        recommendations=[
            "Fix what the failed activity names: allow more instance types or Availability Zones for "
            "InsufficientInstanceCapacity, or correct the launch template (AMI, security group, instance profile)."
            if failed is not None
            else "Raise the group's maximum capacity if the load is legitimate, or find what drives the load.",
            "Until it launches, shed or throttle load on the instances that run.",
        ],
    )


def asg_cpu_saturation(alert: Alert, facts: Facts) -> Finding | None:
    """CPU high across a group that can still scale: the group is short of capacity or its policy is too slow."""
    name = alert_asg_name(alert)
    if name is None or alarm_details(alert).metric_name != "CPUUtilization":
        return None
    peak = metric_peak(facts, alert, "CPUUtilization")
    if peak is None or peak < CPU_SATURATED_PERCENT:
        return None
    sentence = f"CPU saturation across Auto Scaling group {name}: {metric_fact_text(facts, alert, 'CPUUtilization')}"
    sentence = with_facts(sentence, facts, ("compute.asg", "compute.asg_activity"))
    return Finding(
        root_cause=sentence + ".",
        confidence="medium",
        evidence_keys=["compute.alarm_metric", "compute.asg", "compute.asg_activity"],
        recommendations=[
            "Check the group's scaling policy: a target-tracking policy on CPU scales out before saturation; a "
            "step policy may react too late or be too small.",
            "Raise the desired capacity by hand for the surge if the policy lags.",
        ],
    )


def asg_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    name = alert_asg_name(alert)
    if name is None:
        return []
    return [
        in_region(
            alert, "autoscaling", "describe-scaling-activities", opt("--auto-scaling-group-name", name), max_items=10
        ),
        in_region(alert, "autoscaling", "describe-auto-scaling-groups", opt("--auto-scaling-group-names", [name])),
    ]
