"""EC2 instances: CPU saturation on one instance and failed status checks (system or instance), with
the instance's own commands. A database's or an Auto Scaling group's CPU is not read here.
"""

from __future__ import annotations

from datetime import datetime

from functions.analyze.rules.commands import alert_asg_name, alert_instance_id, in_region
from functions.analyze.rules.facts import (
    CPU_SATURATED_PERCENT,
    Facts,
    Finding,
    alarm_details,
    alert_resource_name,
    as_clause,
    instance_label,
    metric_peak,
    rose,
)
from functions.shared.aws_commands import BuiltCommand, ValueKind, flag, opt
from functions.shared.models import Alert


def cpu_saturation(alert: Alert, facts: Facts) -> Finding | None:
    peak = metric_peak(facts, alert, "CPUUtilization")
    if alarm_details(alert).metric_name != "CPUUtilization" or peak is None or peak < CPU_SATURATED_PERCENT:
        return None
    if alarm_details(alert).namespace not in _EC2_NAMESPACES or (
        alert_instance_id(alert) is None and alert_asg_name(alert)
    ):
        return None  # a database's or a group's CPU: their own detectors, never the one-instance playbook
    instance = facts.get("compute.instance")
    label = instance_label(instance) if instance else alert_resource_name(alert)
    metric_fact = facts.get("compute.alarm_metric")
    sentence = f"CPU saturation on {label}: " + as_clause(
        (metric_fact.text if metric_fact else "").replace("Alarm metric ", "")
    )
    network = facts.get("compute.metric.NetworkIn")
    if network is not None and rose(network):
        sentence += (
            f"; inbound traffic rose with it ({as_clause(network.text)}), so load, not a runaway process, drives it"
        )
    return Finding(
        root_cause=sentence + ".",
        confidence="medium",
        evidence_keys=["compute.alarm_metric", "compute.metric.NetworkIn", "compute.instance"],
        recommendations=[
            "Scale out (or up) if the traffic is legitimate; check the top processes on the instance if it is not.",
            # An instance its Auto Scaling group runs (the walk's neighbour): the group's policy, not a new group.
            f"Check {group.subject}'s scaling policy and maximum: it should have added capacity before saturation."
            if (group := facts.get("compute.asg")) is not None and group.subject
            else "Put the instance behind an Auto Scaling group with a CPU target so the next surge scales by itself.",
        ],
        diagnostics=[
            in_region(alert, "ec2", "describe-instance-status", opt("--instance-ids", [i], ValueKind.EC2_INSTANCE))
            for i in filter(None, [alert_instance_id(alert)])
        ],
    )


def status_check(alert: Alert, facts: Facts) -> Finding | None:
    metric = alarm_details(alert).metric_name or ""
    if not metric.startswith("StatusCheckFailed") or alarm_details(alert).namespace not in _EC2_NAMESPACES:
        return None
    peak = metric_peak(facts, alert, metric)
    if peak is not None and peak < 1:
        return None
    instance = facts.get("compute.instance")
    label = instance_label(instance) if instance else alert_resource_name(alert)
    if metric == "StatusCheckFailed_System":
        sentence = (
            f"The system status check failed on {label}: the underlying AWS host (hardware, network or power) has "
            "a problem, not the instance's software"
        )
        action = "Stop and start the instance (not reboot) to move it to healthy hardware; AWS may also retire it."
    elif metric == "StatusCheckFailed_Instance":
        sentence = (
            f"The instance status check failed on {label}: the instance itself is impaired (OS, kernel, memory "
            "exhaustion or a full disk)"
        )
        action = "Read the system log and reboot the instance; fix the OS-level cause before it recurs."
    else:
        sentence = f"A status check failed on {label}"
        action = "Check which status check fails (system or instance) and act on that."
    cpu = facts.get("compute.metric.CPUUtilization")
    if cpu is not None and (cpu.numbers.latest is not None if cpu.numbers else "now" in cpu.text):
        sentence += f"; {as_clause(cpu.text)}"
    return Finding(
        root_cause=sentence + ".",
        confidence="high",
        evidence_keys=["compute.alarm_metric", "compute.metric.CPUUtilization", "compute.instance"],
        recommendations=[action, "Use an Auto Scaling group or EC2 auto-recovery so a failed host replaces itself."],
        diagnostics=_status_check_diagnostics(alert),
    )


def _status_check_diagnostics(alert: Alert) -> list[BuiltCommand]:
    instance = alert_instance_id(alert)
    if instance is None:
        return []
    return [
        in_region(
            alert,
            "ec2",
            "describe-instance-status",
            opt("--instance-ids", [instance], ValueKind.EC2_INSTANCE),
            flag("--include-all-instances"),
        ),
        in_region(alert, "ec2", "get-console-output", opt("--instance-id", instance, ValueKind.EC2_INSTANCE)),
    ]


_EC2_NAMESPACES = {None, "", "AWS/EC2"}


def ec2_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    instance = alert_instance_id(alert)
    if instance is None:
        return []
    return [
        in_region(alert, "ec2", "describe-instance-status", opt("--instance-ids", [instance], ValueKind.EC2_INSTANCE))
    ]
