"""Which resource an alert implicates: from the alarm's dimensions, the alert's resource, or a Health entity."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from functions.shared.alert_details import CloudWatchAlarmDetails, HealthDetails
from functions.shared.models import Alert
from functions.shared.registry import RESOURCE_TYPES, ResourceKind, resource_type
from functions.shared.sources.common import aws_published_namespace

# A resource to investigate is of a registered type (`functions.shared.registry.RESOURCE_TYPES`).
TargetKind = ResourceKind

# (namespace, dimension that names the resource) -> kind, in the registry's order: the first one set wins. The
# same dimension can name different types in different namespaces (`LoadBalancer`: an ALB or an NLB).
_DIMENSIONS: dict[tuple[str, str], TargetKind] = {
    (spec.namespace, dimension): spec.kind
    for spec in RESOURCE_TYPES
    if spec.namespace is not None
    for dimension in spec.dimensions
}
_NAMESPACE_KIND: dict[str, TargetKind] = {}
for (_namespace, _dimension), _kind in _DIMENSIONS.items():
    _NAMESPACE_KIND.setdefault(_namespace, _kind)
_INSTANCE_ID = re.compile(r"\bi-[0-9a-f]{8,17}\b")


class Target(BaseModel):
    """One resource to investigate, with the CloudWatch dimension that names it."""

    kind: TargetKind
    name: str
    namespace: str
    dimension: str
    region: str | None = None
    # The other dimensions that complete its name, as the type registers them (`qualifiers`): an ECS service's
    # ClusterName, a target group's LoadBalancer.
    qualifiers: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def of(
        cls, kind: TargetKind, name: str, region: str | None = None, *, qualifiers: dict[str, str] | None = None
    ) -> Target:
        """A resource of a registered type by its name: its namespace and (most specific) dimension as registered."""
        spec = resource_type(kind)
        if spec.namespace is None or not spec.dimensions:
            raise ValueError(f"resource type {kind} has no CloudWatch metrics to investigate")
        kept = {k: v for k, v in (qualifiers or {}).items() if k in spec.qualifiers and v}
        return cls(
            kind=kind, name=name, namespace=spec.namespace, dimension=spec.dimensions[0], region=region, qualifiers=kept
        )

    @property
    def dimensions(self) -> dict[str, str]:
        return {self.dimension: self.name, **self.qualifiers}

    @property
    def key(self) -> tuple[str, str]:
        """What makes two targets the same resource (a graph walk visits each once)."""
        return self.kind, self.name

    @property
    def log_group(self) -> str | None:
        log_group = resource_type(self.kind).log_group
        return log_group(self.name) if log_group else None


class AlarmMetric(BaseModel):
    """The metric an alarm watches, as the classified alert describes it."""

    namespace: str
    metric_name: str
    dimensions: dict[str, str] = Field(default_factory=dict)
    stat: str = "Average"
    period_seconds: int = 300
    threshold: float | None = None
    comparison: str | None = None


def _stat(value: Any) -> str:
    text = str(value or "Average")
    lowered = text.lower()
    for canonical in ("Average", "Sum", "Maximum", "Minimum", "SampleCount"):
        if lowered == canonical.lower():
            return canonical
    return text


def alarm_metric(alert: Alert) -> AlarmMetric | None:
    """The alarm's own metric, when the alert is a single-metric CloudWatch alarm."""
    alarm = alert.details_of(CloudWatchAlarmDetails)
    if alarm is None or not alarm.namespace or not alarm.metric_name:
        return None
    return AlarmMetric(
        namespace=alarm.namespace,
        metric_name=alarm.metric_name,
        dimensions=dict(alarm.dimensions or {}),
        stat=_stat(alarm.statistic),
        period_seconds=max(60, int(alarm.period_seconds or 300)),
        threshold=alarm.threshold,
        comparison=alarm.comparison_operator,
    )


def implicated_target(alert: Alert) -> Target | None:
    """The Lambda function / EC2 instance / queue / table / API the alert is about, or None."""
    region = alert.region or (alert.resource.region if alert.resource else None)
    alarm = alert.details_of(CloudWatchAlarmDetails)
    dims = dict(alarm.dimensions or {}) if alarm else {}
    target = target_of_dimensions(alarm.namespace if alarm else None, dims, region)
    if target is not None:
        return target
    resource = alert.resource
    if resource is not None and resource.name:
        kind_text = resource.type.lower()
        arn = resource.arn or ""
        if "lambda::function" in kind_text or arn.startswith("arn:aws:lambda:"):
            name = resource.name.split(":")[-1] if resource.name.startswith("arn:") else resource.name
            return Target.of("lambda", name, region)
        for text in (resource.name, arn):
            match = _INSTANCE_ID.search(text)
            if match and ("ec2" in kind_text or "instance" in kind_text or text.startswith("i-")):
                return Target.of("ec2", match.group(0), region)
    health = alert.details_of(HealthDetails)
    for entity in (health.affected_entities or []) if health else []:
        match = _INSTANCE_ID.search(entity)
        if match:
            return Target.of("ec2", match.group(0), region)
    alarm_namespace = alarm.namespace if alarm else None
    if alarm_namespace and alarm_namespace in _NAMESPACE_KIND and dims:
        dimension, value = next(iter(dims.items()))
        return Target(kind=_NAMESPACE_KIND[alarm_namespace], name=value, namespace=alarm_namespace, dimension=dimension)
    return None


def target_of_dimensions(namespace: str | None, dims: dict[str, str], region: str | None) -> Target | None:
    """The resource a set of dimensions names: a type of the alarm's own namespace first (its most specific
    dimension set), then, in a namespace AWS publishes to, any registered type by its dimension alone (EC2
    publishes CPUUtilization per AutoScalingGroupName in AWS/EC2; Container Insights names ECS services)."""
    candidates = [key for key in _DIMENSIONS if key[0] == namespace]
    if namespace is None or aws_published_namespace(namespace):
        candidates += [key for key in _DIMENSIONS if key[0] != namespace]
    for type_namespace, dimension in candidates:
        if dims.get(dimension):
            kind = _DIMENSIONS[(type_namespace, dimension)]
            qualifiers = {q: dims[q] for q in resource_type(kind).qualifiers if dims.get(q)}
            return Target(
                kind=kind,
                name=dims[dimension],
                namespace=type_namespace,
                dimension=dimension,
                region=region,
                qualifiers=qualifiers,
            )
    return None
