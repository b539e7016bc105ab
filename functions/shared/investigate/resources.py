"""Resource evidence: a Lambda function's configuration and recent changes, an EC2 instance's state and checks."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from functions.shared import console_links
from functions.shared.adapters.compute import Ec2Reader, LambdaReader
from functions.shared.investigate.base import Evidence, Neighbour, parse_aws_time
from functions.shared.investigate.target import Target
from functions.shared.models import Fact, Measurement

RECENT_CHANGE_HOURS = 24


def ago(moment: datetime, now: datetime) -> str:
    minutes = int((now - moment).total_seconds() // 60)
    if minutes < 0:
        return "just now"
    if minutes < 120:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return f"{minutes // 1440} days ago"


def lambda_function_evidence(lambdas: LambdaReader, name: str, *, now: datetime, region: str | None) -> Evidence:
    """The function's runtime, memory, timeout, reserved concurrency and when it last changed."""
    evidence = Evidence()
    evidence.looked_at.append(f"Lambda {name} configuration")
    configuration = evidence.read_resource(
        f"Lambda function {name}", lambda: lambdas.function(name), missing=f"No Lambda function named {name}"
    )
    link = console_links.lambda_function_url(name, region)
    if configuration is None:
        return evidence
    reserved = configuration.get("ReservedConcurrentExecutions")
    parts = [
        str(configuration.get("Runtime") or configuration.get("PackageType") or "unknown runtime"),
        f"{configuration.get('MemorySize', '?')} MB",
        f"timeout {configuration.get('Timeout', '?')} s",
    ]
    if reserved is not None:
        parts.append(f"reserved concurrency {reserved}")
    modified = parse_aws_time(configuration.get("LastModified"))
    if modified is not None:
        parts.append(f"last modified {ago(modified, now)} ({modified:%Y-%m-%d %H:%M} UTC)")
    timeout = configuration.get("Timeout")
    evidence.facts.append(
        Fact(
            key="compute.lambda_config",
            text=f"Lambda {name}: " + ", ".join(parts),
            link=link,
            subject=name,
            # The number the rules compare with Duration: the configured timeout.
            numbers=Measurement(value=float(timeout), unit="seconds")
            if isinstance(timeout, int | float) and not isinstance(timeout, bool)
            else None,
        )
    )
    if modified is not None and (now - modified).total_seconds() < RECENT_CHANGE_HOURS * 3600:
        version = configuration.get("Version")
        status = configuration.get("LastUpdateStatus")
        detail = f" (version {version}, update {status})" if version and status else ""
        evidence.facts.append(
            Fact(
                key="compute.recent_change",
                text=f"Recent change: {name} code/configuration updated {ago(modified, now)}{detail}",
                value=int((now - modified).total_seconds() // 60),
                link=link,
            )
        )
    if reserved is not None:
        evidence.facts.append(
            Fact(
                key="compute.reserved_concurrency",
                text=f"{name} is capped at {reserved} concurrent executions (reserved concurrency)",
                value=int(reserved),
                link=link,
            )
        )
    return evidence


def recent_ec2_launches_evidence(ec2: Ec2Reader, *, now: datetime, region: str | None, days: int = 14) -> Evidence:
    """Running EC2 instances launched in the last `days` days, by instance type: new capacity behind a cost rise."""
    evidence = Evidence()
    evidence.looked_at.append(f"EC2 instances launched in the last {days} days")
    running = evidence.read("running EC2 instances", lambda: ec2.running_instances())
    if running is None:
        return evidence
    since = now - timedelta(days=days)
    recent = [(i, t) for i in running if (t := parse_aws_time(i.get("LaunchTime"))) is not None and t >= since]
    if not recent:
        evidence.notes.append(f"No running EC2 instance was launched in the last {days} days.")
        return evidence
    by_type: dict[str, list[str]] = {}
    for instance, _ in sorted(recent, key=lambda p: p[1]):
        label = _tag(instance, "Name") or instance.get("InstanceId", "?")
        by_type.setdefault(str(instance.get("InstanceType", "?")), []).append(str(label))
    groups = "; ".join(f"{len(names)}x {kind} ({', '.join(names[:4])})" for kind, names in by_type.items())
    first = min(t for _, t in recent)
    evidence.facts.append(
        Fact(
            key="compute.recent_launches",
            text=f"{len(recent)} EC2 instance(s) launched in the last {days} days and still running: {groups}; "
            f"first {ago(first, now)}",
            value=len(recent),
            link=console_links.ec2_running_instances_url(region),
        )
    )
    return evidence


def _tag(instance: dict[str, Any], key: str) -> str | None:
    return next((t.get("Value") for t in instance.get("Tags", []) if t.get("Key") == key), None)


def ec2_instance_evidence(ec2: Ec2Reader, instance_id: str, *, now: datetime, region: str | None) -> Evidence:
    """The instance's state, type and launch time, its status checks and any scheduled events."""
    evidence = Evidence()
    evidence.looked_at.append(f"EC2 {instance_id} state and status checks")
    link = console_links.ec2_instance_url(instance_id, region)
    instance = evidence.read_resource(
        f"EC2 instance {instance_id}", lambda: ec2.instance(instance_id), missing=f"No EC2 instance {instance_id}"
    )
    if instance is None:
        return evidence
    name = _tag(instance, "Name")
    state = (instance.get("State") or {}).get("Name", "unknown")
    parts = [f"state {state}", str(instance.get("InstanceType", "unknown type"))]
    launched = parse_aws_time(instance.get("LaunchTime"))
    if launched is not None:
        parts.append(f"launched {ago(launched, now)}")
    if instance.get("PublicIpAddress"):
        parts.append(f"public IP {instance['PublicIpAddress']}")
    groups = [g.get("GroupName") or g.get("GroupId") for g in instance.get("SecurityGroups", [])]
    if groups:
        parts.append("security groups " + ", ".join(str(g) for g in groups[:3]))
    label = f"{instance_id} ({name})" if name else instance_id
    evidence.facts.append(
        Fact(key="compute.instance", text=f"EC2 {label}: " + ", ".join(parts), value=state, link=link, subject=label)
    )
    # Auto Scaling tags every instance it launches with its group: the group is the first neighbour to look at.
    group = _tag(instance, "aws:autoscaling:groupName")
    if group:
        evidence.neighbours.append(
            Neighbour(target=Target.of("asg", group, region), edge=f"Auto Scaling group {group}, which runs {label}")
        )
    status = evidence.read(f"status checks of {instance_id}", lambda: ec2.instance_status(instance_id))
    if status:
        system = (status.get("SystemStatus") or {}).get("Status", "unknown")
        own = (status.get("InstanceStatus") or {}).get("Status", "unknown")
        failing = [
            d.get("Name", "?")
            for s in (status.get("SystemStatus") or {}, status.get("InstanceStatus") or {})
            for d in s.get("Details", [])
            if d.get("Status") not in (None, "passed")
        ]
        text = f"Status checks: system {system}, instance {own}"
        if failing:
            text += " (failing: " + ", ".join(failing) + ")"
        evidence.facts.append(Fact(key="compute.status_checks", text=text, value=f"{system}/{own}", link=link))
        events = status.get("Events") or []
        for event in events[:2]:
            when = parse_aws_time(event.get("NotBefore"))
            evidence.facts.append(
                Fact(
                    key="compute.scheduled_event",
                    text=f"Scheduled event {event.get('Code', '?')}: {event.get('Description', '')}"
                    + (f", not before {when:%Y-%m-%d %H:%M} UTC" if when else ""),
                    link=link,
                )
            )
    return evidence
