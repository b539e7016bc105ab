"""Alerts of the other sources: AWS Health events, GuardDuty and Security Hub findings, custom
application errors and alerts that could not be classified.
"""

from __future__ import annotations

from functions.analyze.rules.facts import (
    Facts,
    Finding,
    alert_resource_name,
    as_clause,
    hits_timeout,
    instance_label,
    log_summary,
)
from functions.shared.alert_details import GuardDutyDetails, HealthDetails, SecurityHubDetails
from functions.shared.aws_commands import ValueKind, build_command, opt
from functions.shared.models import Alert


def health_event(alert: Alert, facts: Facts) -> Finding:
    event = alert.details_of(HealthDetails) or HealthDetails()
    code = event.event_type_code or alert.alert_type
    readable = code.replace("AWS_", "", 1).replace("_", " ").lower()
    name = alert_resource_name(alert)
    instance = facts.get("compute.instance")
    label = instance_label(instance) if instance else name
    start = event.start_time
    sentence = f"AWS Health: {readable} for {label}"
    if start:
        sentence += f", starting {start}"
    if "RETIREMENT" in code:
        sentence += " — the instance will be retired because its underlying hardware is degraded"
    if instance is not None and (instance.value == "running" if instance.value else "running" in instance.text):
        sentence += "; it is still running now"
    recommendations = (
        [
            "Stop and start the instance before the retirement date to move it to healthy hardware (EBS-backed), or "
            "replace it; instance-store data is lost.",
        ]
        if "RETIREMENT" in code
        else ["Follow the event's recommended action before its start time."]
    )
    return Finding(
        root_cause=sentence + ".",
        confidence="high",
        evidence_keys=["health.event", "health.affected_entities", "compute.instance"],
        recommendations=recommendations,
        # The Health API answers in us-east-1 whatever region the event is about.
        diagnostics=[
            build_command(
                "health",
                "describe-event-details",
                opt("--event-arns", [event.event_arn], ValueKind.ARN),
                region="us-east-1",
            )
        ]
        if event.event_arn
        else [],
    )


def security_finding(alert: Alert, facts: Facts) -> Finding:
    name = alert_resource_name(alert)
    similar = facts.get("security.similar_findings")
    if (guardduty := alert.details_of(GuardDutyDetails)) is not None:
        kind = guardduty.finding_type or alert.alert_type
        sentence = f"GuardDuty {kind} on {name}: {as_clause(alert.summary or alert.title)}"
        recommendations = [
            f"Close the exposed port on {name} (restrict its security group to known addresses) or put it behind a "
            "bastion/SSM Session Manager.",
            "Check the instance for signs of compromise if the probed service accepts logins.",
        ]
    else:
        hub = alert.details_of(SecurityHubDetails) or SecurityHubDetails()
        control = hub.security_control_id or alert.alert_type
        sentence = f"Security Hub control {control} failed on {name}: {as_clause(alert.title.split(': ', 1)[-1])}"
        recommendations = [
            "Apply the control's remediation to the resource, then let Security Hub re-evaluate it.",
        ]
    if similar is not None:
        sentence += f"; {as_clause(similar.text)}"
        if (facts.number("security.similar_findings") or 0) > 1:
            recommendations.append("Fix the other resources with the same finding as well: it is a pattern.")
    return Finding(
        root_cause=sentence + ".",
        confidence="medium",
        evidence_keys=["security.finding", "security.similar_findings", "compute.instance", "security.remediation"],
        recommendations=recommendations,
    )


def custom_alert(alert: Alert, facts: Facts) -> Finding:
    who = f"The application {alert.resource.name}" if alert.resource and alert.resource.name else "The application"
    sentence = f"{who} reported an error: {as_clause(alert.summary or alert.title)}"
    change = facts.get("compute.recent_change")
    if change is not None:
        sentence += f"; {as_clause(change.text)}"
    timeout = hits_timeout(facts)
    if timeout:
        sentence += f"; {timeout}"
    logs = log_summary(facts)
    if logs:
        sentence += f"; {logs}"
    return Finding(
        root_cause=sentence + ".",
        confidence="medium" if logs or change else "low",
        evidence_keys=["logs.pattern.1", "compute.recent_change", "logs.error_count"],
    )


def unclassified_alert(alert: Alert, facts: Facts) -> Finding:
    return Finding(root_cause="The alert could not be classified; its raw text is shown below.", confidence="low")
