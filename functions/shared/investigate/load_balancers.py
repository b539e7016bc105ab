"""Load balancer (ALB / NLB) and target group evidence: listeners and where they forward, each target group's
health-check configuration and the health of every registered target with its reason code, and the targets (EC2
instances, Lambda functions) as neighbours.

The facts:
- `compute.lb`: the load balancer's type, scheme, state and listeners (port/protocol -> target group).
- `compute.lb_target_health`: one target group: its health check and how many targets are healthy, the unhealthy
  ones with State, Reason and Description as `DescribeTargetHealth` reports them.
- `compute.lb_5xx_origin` (ALB): who returns the 5XX: the load balancer itself (HTTPCode_ELB_5XX_Count: no healthy
  target, connection resets, timeouts) or the application behind it (HTTPCode_Target_5XX_Count); `value` is
  "load_balancer", "targets" or "both", `numbers.value` the ELB's peak and `numbers.baseline` the targets' peak.
- `compute.lb_all_targets_unhealthy`: no registered target is healthy: the load balancer has nowhere to send
  requests and answers 5XX itself. `value` is the most common reason code (an API field, e.g.
  `Target.ResponseCodeMismatch`).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from functions.shared import console_links
from functions.shared.adapters.cloudwatch import CloudWatchReader, MetricQuery
from functions.shared.adapters.infrastructure import LoadBalancerReader
from functions.shared.investigate.base import Evidence, Neighbour, number
from functions.shared.investigate.metrics import summarize
from functions.shared.investigate.target import Target
from functions.shared.models import Fact, Measurement

MAX_TARGET_GROUPS = 3
METRIC_WINDOW = timedelta(hours=3)
METRIC_RECENT = timedelta(minutes=30)
# GetMetricData's end is exclusive: a minute past now keeps the datapoint stamped at now.
METRIC_END_SLACK = timedelta(minutes=1)
# One side's 5XX at least this many times the other's: that side returns them.
ORIGIN_RATIO = 5
MAX_TARGET_NEIGHBOURS = 2
_CHECKS_DISABLED = "Target.HealthCheckDisabled"
_KIND_LABEL = {"application": "Application", "network": "Network", "gateway": "Gateway"}


def _lb_name(dimension: str) -> str:
    """ "app/web-alb/50dc6c495c0c9188" -> "web-alb" (the CloudWatch dimension is the ARN's tail)."""
    parts = dimension.split("/")
    return parts[1] if len(parts) == 3 else dimension


def _tg_name(dimension: str) -> str:
    """ "targetgroup/web-tg/0123456789abcdef" -> "web-tg"."""
    parts = dimension.split("/")
    return parts[1] if len(parts) == 3 and parts[0] == "targetgroup" else dimension


def _dimension_of(arn: str) -> str:
    """The CloudWatch dimension value of a target group ARN: its resource part, "targetgroup/<name>/<id>"."""
    parts = arn.split(":", 5)
    return parts[5] if len(parts) == 6 else arn


def load_balancer_evidence(
    elbv2: LoadBalancerReader, cw: CloudWatchReader, target: Target, *, now: datetime
) -> Evidence:
    """The load balancer, its listeners, the health of its target groups (at most MAX_TARGET_GROUPS), and the
    targets of an unhealthy group as neighbours."""
    evidence = Evidence()
    name = _lb_name(target.name)
    evidence.looked_at.append(f"Load balancer {name}: listeners, target groups and target health")
    balancer = evidence.read_resource(
        f"load balancer {name}", lambda: elbv2.load_balancer(name), missing=f"No load balancer named {name}"
    )
    if balancer is None:
        return evidence
    arn = str(balancer.get("LoadBalancerArn", ""))
    groups = evidence.read(f"target groups of {name}", lambda: elbv2.target_groups(load_balancer_arn=arn)) or []
    group_names = {str(g.get("TargetGroupArn")): str(g.get("TargetGroupName")) for g in groups}
    listeners = evidence.read(f"listeners of {name}", lambda: elbv2.listeners(arn)) or []
    routes = []
    for listener in listeners[:4]:
        forwards = [
            group_names.get(str(a.get("TargetGroupArn")), "a target group")
            if a.get("Type") == "forward"
            else str(a.get("Type"))
            for a in listener.get("DefaultActions") or []
        ]
        routes.append(f"{listener.get('Protocol', '?')}:{listener.get('Port', '?')} -> {', '.join(forwards) or '?'}")
    kind = str(balancer.get("Type", "?"))
    state = str((balancer.get("State") or {}).get("Code", "unknown"))
    parts = [f"state {state}", str(balancer.get("Scheme", "?"))]
    parts.append("listeners " + "; ".join(routes) if routes else "no listeners")
    evidence.facts.append(
        Fact(
            key="compute.lb",
            text=f"{_KIND_LABEL.get(kind, kind)} load balancer {name}: " + ", ".join(parts),
            value=state,
            subject=name,
            numbers=Measurement(value=float(len(groups)), unit="target groups"),
        )
    )
    if kind == "application":
        evidence.add(_five_xx_origin(cw, target, name, now=now))
    link = console_links.elb_resource_url(arn, target.region)
    for fact in evidence.facts:
        fact.link = fact.link or link
    for group in groups[:MAX_TARGET_GROUPS]:
        evidence.add(_group_health(elbv2, group, target.region))
    return evidence


def _five_xx_origin(cw: CloudWatchReader, target: Target, name: str, *, now: datetime) -> Evidence:
    """The load balancer's own 5XX against its targets' over the last half hour: which side returns them."""
    evidence = Evidence()
    queries = [
        MetricQuery(
            id=f"origin{i}",
            namespace="AWS/ApplicationELB",
            metric_name=metric,
            dimensions={"LoadBalancer": target.name},
            stat="Sum",
            period_seconds=300,
        )
        for i, metric in enumerate(("HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count"))
    ]
    series = evidence.read(
        f"5XX counts of {name}", lambda: cw.metric_data(queries, now - METRIC_WINDOW, now + METRIC_END_SLACK)
    )
    if series is None:
        return evidence
    peaks = []
    for query in queries:
        found = series.get(query.id)
        window = summarize(found, query.namespace, query.metric_name, 300, now, METRIC_RECENT) if found else None
        peaks.append(window.peak if window is not None and window.peak is not None else 0.0)
    elb, app = peaks
    if elb <= 0 and app <= 0:
        return evidence
    # A side with no 5XX at all is not an origin, however few the other side's are.
    if app <= 0 or elb >= ORIGIN_RATIO * max(app, 1):
        origin, words = "load_balancer", "the load balancer itself returns them (no healthy target, resets or timeouts)"
    elif elb <= 0 or app >= ORIGIN_RATIO * max(elb, 1):
        origin, words = "targets", "the application behind it returns them"
    else:
        origin, words = "both", "both the load balancer and the application return them"
    evidence.facts.append(
        Fact(
            key="compute.lb_5xx_origin",
            text=(
                f"5XX on {name}, last 30 min: HTTPCode_ELB_5XX_Count peak {number(elb)} vs "
                f"HTTPCode_Target_5XX_Count peak {number(app)} per 5 min: {words}"
            ),
            value=origin,
            subject=name,
            numbers=Measurement(value=elb, baseline=app, unit="5XX per 5 min (load balancer vs targets)"),
        )
    )
    return evidence


def target_group_evidence(elbv2: LoadBalancerReader, target: Target) -> Evidence:
    """One target group: its health check, each target's health with its reason, the targets as neighbours."""
    evidence = Evidence()
    name = _tg_name(target.name)
    evidence.looked_at.append(f"Target group {name}: health check and target health")
    group = evidence.read_resource(
        f"target group {name}",
        lambda: _target_group_of(elbv2.target_groups(name=name), target.name),
        missing=f"No target group named {name}",
    )
    if group is None:
        return evidence
    evidence.add(_group_health(elbv2, group, target.region))
    return evidence


def _target_group_of(groups: list[dict[str, Any]], dimension: str) -> dict[str, Any] | None:
    """The group whose ARN ends with the target's CloudWatch dimension ("targetgroup/<name>/<id>"), else the first
    group found by its name; None when there is none."""
    group = next((g for g in groups if str(g.get("TargetGroupArn", "")).endswith(dimension)), None)
    return group or (groups[0] if groups else None)


def _health_check(group: dict[str, Any]) -> str:
    if group.get("HealthCheckEnabled") is False or not group.get("HealthCheckProtocol"):
        return "health checks off"
    protocol = group.get("HealthCheckProtocol", "?")
    path = group.get("HealthCheckPath")
    matcher = (group.get("Matcher") or {}).get("HttpCode")
    text = f"health check {protocol}" + (f" {path}" if path else "")
    text += f" every {group.get('HealthCheckIntervalSeconds', '?')} s"
    text += f", {group.get('UnhealthyThresholdCount', '?')} failures to unhealthy"
    if matcher:
        text += f", expects {matcher}"
    return text


def _target_label(description: dict[str, Any]) -> str:
    target = description.get("Target") or {}
    target_id = str(target.get("Id", "?"))
    if target_id.startswith("arn:aws:lambda:"):
        target_id = "Lambda " + target_id.split(":function:", 1)[-1].split(":", 1)[0]
    port = target.get("Port")
    return f"{target_id}:{port}" if port and not target_id.startswith("Lambda ") else target_id


def _group_health(elbv2: LoadBalancerReader, group: dict[str, Any], region: str | None) -> Evidence:
    evidence = Evidence()
    arn = str(group.get("TargetGroupArn", ""))
    name = str(group.get("TargetGroupName", _tg_name(_dimension_of(arn))))
    health = evidence.read(f"target health of {name}", lambda: elbv2.target_health(arn))
    if health is None:
        return evidence
    every = [(d, (d.get("TargetHealth") or {})) for d in health]
    # A target whose health is not checked (a Lambda target with health checks off) is neither healthy nor failing.
    unchecked = [d for d, h in every if h.get("Reason") == _CHECKS_DISABLED]
    states = [(d, h) for d, h in every if h.get("Reason") != _CHECKS_DISABLED]
    healthy = [d for d, h in states if h.get("State") == "healthy"]
    unhealthy = [(d, h) for d, h in states if h.get("State") not in ("healthy", "unused", "draining")]
    target_type = str(group.get("TargetType", "instance"))
    listens = f"{group['Protocol']}:{group.get('Port', '?')}, " if group.get("Protocol") else ""
    text = f"Target group {name} ({target_type} targets, {listens}{_health_check(group)}): "
    text += f"{len(healthy)} of {len(states)} targets healthy" if states else "no target's health is checked"
    if unchecked:
        text += f"; health checks disabled for {', '.join(_target_label(d) for d in unchecked[:3])}"
    if unhealthy:
        shown = []
        for description, h in unhealthy[:3]:
            reason = h.get("Reason") or h.get("State")
            detail = f" ({str(h.get('Description'))[:80]})" if h.get("Description") else ""
            shown.append(f"{_target_label(description)} {h.get('State')}: {reason}{detail}")
        text += "; " + "; ".join(shown)
    evidence.facts.append(
        Fact(
            key="compute.lb_target_health",
            text=text,
            value=len(healthy),
            subject=name,
            numbers=Measurement(value=float(len(healthy)), baseline=float(len(states)), unit="targets healthy")
            if states
            else None,
        )
    )
    if states and not healthy:
        reasons = Counter(str(h.get("Reason") or h.get("State")) for _, h in states)
        reason, count = reasons.most_common(1)[0]
        said = next(
            (str(h.get("Description") or "") for _, h in states if str(h.get("Reason") or h.get("State")) == reason),
            "",
        )
        evidence.facts.append(
            Fact(
                key="compute.lb_all_targets_unhealthy",
                text=(
                    f"No healthy target in target group {name}: {count} of {len(states)} report {reason}"
                    + (f" ({said[:100]})" if said else "")
                    + f"; {_health_check(group)}"
                ),
                value=reason,
                # The group's CloudWatch dimension ("targetgroup/<name>/<id>"): the rules build its ARN from it.
                subject=_dimension_of(arn) if ":targetgroup/" in arn else name,
                numbers=Measurement(value=0.0, baseline=float(len(states)), unit="targets healthy"),
            )
        )
    link = console_links.elb_resource_url(arn, region)
    for fact in evidence.facts:  # the group's page: its targets and their health
        fact.link = fact.link or link
    if not every:
        evidence.notes.append(f"Target group {name} has no registered targets.")
    # The unhealthy targets first: that is where the failing health check answers.
    ordered = [d for d, _ in unhealthy] + healthy + unchecked
    for description in ordered[:MAX_TARGET_NEIGHBOURS]:
        neighbour = _target_neighbour(description, name, region)
        if neighbour is not None:
            evidence.neighbours.append(neighbour)
    return evidence


def _target_neighbour(description: dict[str, Any], group: str, region: str | None) -> Neighbour | None:
    target_id = str((description.get("Target") or {}).get("Id", ""))
    state = (description.get("TargetHealth") or {}).get("State", "?")
    if target_id.startswith("i-"):
        return Neighbour(target=Target.of("ec2", target_id, region), edge=f"{state} target of target group {group}")
    if target_id.startswith("arn:aws:lambda:"):
        function = target_id.split(":function:", 1)[-1].split(":", 1)[0]
        return Neighbour(target=Target.of("lambda", function, region), edge=f"{state} target of target group {group}")
    return None  # an IP target: named in the health fact, nothing more to read about it
