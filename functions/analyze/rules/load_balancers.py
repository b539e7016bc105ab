"""Application and Network Load Balancers and their target groups: no healthy target, some targets
unhealthy, who returns the 5XX (the load balancer or the application), slow targets; and their commands.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from functions.analyze.rules.commands import alert_target, in_region
from functions.analyze.rules.fact_rule import FactRule
from functions.analyze.rules.facts import (
    Facts,
    Finding,
    alarm_details,
    alarm_namespace,
    alert_region,
    alert_resource_name,
    as_clause,
    metric_fact_text,
    metric_peak,
    rose,
    rose_clearly,
    with_facts,
)
from functions.shared.aws_commands import BuiltCommand, ValueKind, opt
from functions.shared.models import Alert, Fact


def _target_health_command(alert: Alert, unhealthy: Fact) -> list[BuiltCommand]:
    """The health of the targets of the group the fact names (a load balancer's ARN gets no command)."""
    return [
        in_region(alert, "elbv2", "describe-target-health", opt("--target-group-arn", arn, ValueKind.ARN))
        for arn in filter(None, [_elb_arn(alert, unhealthy.subject or "")])
        if ":targetgroup/" in arn
    ]


lb_no_healthy_targets = FactRule(
    key="compute.lb_all_targets_unhealthy",
    cause=lambda alert, unhealthy: (
        f"{as_clause(unhealthy.text)}, so the load balancer has no target to route to and answers errors itself"
    ),
    context_keys=("compute.lb_5xx_origin", "compute.recent_change"),
    evidence_keys=(
        "compute.lb_all_targets_unhealthy",
        "compute.lb_5xx_origin",
        "compute.lb_target_health",
        "compute.alarm_metric",
        "compute.recent_change",
    ),
    next_steps=lambda alert, unhealthy: [
        f"Make the health check pass: the targets report {unhealthy.value}; call the health check path on one "
        "target and compare its answer with the expected codes.",
        "If a deploy broke it, roll the targets back to the previous version.",
    ],
    diagnostics=_target_health_command,
)


def lb_targets_unhealthy(alert: Alert, facts: Facts) -> Finding | None:
    """An UnHealthyHostCount / HealthyHostCount alarm while some (not all) targets fail their health check: name
    them, with the reason their target group reports."""
    if alarm_details(alert).metric_name not in ("UnHealthyHostCount", "HealthyHostCount"):
        return None
    health = facts.get("compute.lb_target_health")
    numbers = health.numbers if health is not None else None
    if health is None or numbers is None or numbers.value is None or numbers.baseline is None:
        return None
    if numbers.value >= numbers.baseline:
        return None  # every target is healthy now: nothing to name (the alarm may have recovered)
    sentence = f"Targets fail their health check: {as_clause(health.text)}"
    neighbour = facts.get("compute.instance")
    if neighbour is not None and neighbour.via and "unhealthy" in neighbour.via:
        sentence += f"; {as_clause(neighbour.text)}"
        checks = facts.get("compute.status_checks")
        if checks is not None and checks.via == neighbour.via and checks.value == "ok/ok":
            sentence += "; it passes its EC2 status checks, so the service on it fails, not the host"
    return Finding(
        root_cause=sentence + ".",
        confidence="medium",
        evidence_keys=["compute.lb_target_health", "compute.alarm_metric", "compute.instance", "compute.status_checks"],
        recommendations=[
            "On an unhealthy target, check that the service listens on the health check port and answers the "
            "health check in time; restart or replace the target if it does not.",
            "The healthy targets carry the traffic meanwhile: check they have the headroom.",
        ],
    )


def lb_5xx_origin(alert: Alert, facts: Facts) -> Finding | None:
    """A load balancer's 5XX alarm: whether the load balancer or the application returns them (the investigation's
    `compute.lb_5xx_origin`, else the two metrics' peaks)."""
    metric = alarm_details(alert).metric_name
    if metric not in ("HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count"):
        return None
    origin_fact = facts.get("compute.lb_5xx_origin")
    origin = origin_fact.value if origin_fact is not None else None
    if origin is None:
        elb = metric_peak(facts, alert, "HTTPCode_ELB_5XX_Count") or 0.0
        app = metric_peak(facts, alert, "HTTPCode_Target_5XX_Count") or 0.0
        origin = "load_balancer" if elb >= 5 * max(app, 1) else "targets" if app >= 5 * max(elb, 1) else None
    if origin is None:
        return None
    name = alert_resource_name(alert)
    shown = as_clause(origin_fact.text) if origin_fact is not None else metric_fact_text(facts, alert, metric) or metric
    keys = ["compute.lb_5xx_origin", "compute.alarm_metric", "compute.lb_target_health"]
    if origin == "load_balancer":
        sentence = f"The load balancer {name} itself returns the 5XX, not the application: {shown}"
        health = facts.get("compute.lb_target_health")
        if health is not None:
            sentence += f"; {as_clause(health.text)}"
        advice = (
            "Check the targets' health and whether they close connections early (keep-alive shorter than the load "
            "balancer's idle timeout) or take longer than it to answer."
        )
    else:
        sentence = f"The application behind {name} returns the 5XX: {shown}"
        advice = "Read the targets' application logs around the breach for the failing request path."
    change = facts.get("compute.recent_change")
    if change is not None:
        sentence += f"; {as_clause(change.text)}"
        keys.append("compute.recent_change")
    return Finding(
        root_cause=sentence + ".",
        confidence="medium",
        evidence_keys=keys,
        recommendations=[advice, "If a deploy lines up with the breach, roll it back."],
    )


def lb_slow_targets(alert: Alert, facts: Facts) -> Finding | None:
    if alarm_details(alert).metric_name != "TargetResponseTime":
        return None
    fact = facts.get("compute.alarm_metric")
    if fact is None or not rose(fact):
        return None
    latency = metric_fact_text(facts, alert, "TargetResponseTime")
    sentence = f"The targets behind {alert_resource_name(alert)} respond slowly: {latency}"
    requests = facts.get("compute.metric.RequestCount")
    if requests is not None and rose_clearly(requests):
        sentence += f"; traffic rose with it ({as_clause(requests.text)})"
    sentence = with_facts(sentence, facts, ("compute.metric.CPUUtilization",))
    return Finding(
        root_cause=sentence + ".",
        confidence="medium",
        evidence_keys=["compute.alarm_metric", "compute.metric.RequestCount", "compute.lb_target_health"],
        recommendations=[
            "Look at what the targets wait on (a database, a downstream API) around the breach.",
            "Add targets (scale the service out) if the load rose and the targets are busy.",
        ],
    )


def _elb_arn(alert: Alert, dimension_value: str) -> str | None:
    if dimension_value.startswith("arn:"):
        return dimension_value
    if not alert.account_id:
        return None
    prefix = "" if dimension_value.startswith("targetgroup/") else "loadbalancer/"
    return f"arn:aws:elasticloadbalancing:{alert_region(alert)}:{alert.account_id}:{prefix}{dimension_value}"


def target_group_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    group = (alarm_details(alert).dimensions or {}).get("TargetGroup") or alert_target(alert, "target_group")
    arn = _elb_arn(alert, group) if group else None
    if arn is None:
        return []
    return [in_region(alert, "elbv2", "describe-target-health", opt("--target-group-arn", arn, ValueKind.ARN))]


def load_balancer_diagnostics(namespace: str) -> Callable[[Alert, datetime | None], list[BuiltCommand]]:
    def diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
        if alarm_namespace(alert) != namespace:
            return []
        balancer = (alarm_details(alert).dimensions or {}).get("LoadBalancer")
        arn = _elb_arn(alert, balancer) if balancer else None
        if arn is None:
            return []
        commands = [
            in_region(alert, "elbv2", "describe-target-groups", opt("--load-balancer-arn", arn, ValueKind.ARN)),
            in_region(alert, "elbv2", "describe-listeners", opt("--load-balancer-arn", arn, ValueKind.ARN)),
        ]
        return commands

    return diagnostics
