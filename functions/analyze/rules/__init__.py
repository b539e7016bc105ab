"""Rule-based analysis: what an experienced on-call engineer concludes from the alert and its context alone.

It runs when no model is configured, for heartbeat and info alerts, and whenever the AI analysis is unavailable,
so it must never raise for any alert or context.

The rules read the facts the gather stages write (`functions/shared/investigate`): their keys (`cost.top_mover`,
`compute.lambda_mover`, `compute.alarm_metric`, `logs.pattern.1`, ...) and values are the contract, and the
sentences quote the facts' own text rather than re-deriving numbers. Each alert type has a short list of
detectors, most specific first; the first that fires names the root cause. When the evidence shows nothing wrong
(the alarm's metric never crossed its threshold, missing data treated as breaching, clean logs), the analysis says
so instead of inventing a cause.

Every suggested command is built by `functions.shared.aws_commands.build_command` from botocore's model of its
operation, never pasted together: a resource name, instance id, region or alarm name from the alert that is not a
valid one of its kind yields no command and a line under Unknowns instead. Time windows are absolute, computed from
the alert's own time (or the `now` passed in), so a command means the same on any machine and any day.

This module is the entry point and holds the tables the registry names (`RULES`, `NEXT_STEPS`, `DIAGNOSTICS`,
`RESOURCE_DIAGNOSTICS`, see `functions/shared/registry.py`): the order the detectors run in, and the assembly of
the analysis. The detectors and their commands live in one module per resource family:

- `facts`: reading the context (`Facts`), the `Finding` a detector returns, and the fact readers every family
  shares; `fact_rule`: `FactRule`, the table form of a detector that one fact explains.
- `commands`: the building blocks of the read-only commands (region, time window, the alert's resource by type).
- `cost`, `cost_resources`: budgets, anomalies, billing alarms; the bill's resource per billing mechanism.
- `alarms`: any CloudWatch alarm (false alarm, no longer firing, the logs, the fallback);
  `changes_and_noise`: what changed shortly before, and noisy alarms.
- `ec2_instances`, `lambda_functions`, `databases`, `load_balancers`, `auto_scaling`, `queues`, `streams`, `caches`,
  `search`, `dynamodb_tables`: one resource family each, its detectors and its `RESOURCE_DIAGNOSTICS` commands.
- `containers_workflows_apis`: ECS services and clusters, Step Functions state machines, API Gateway APIs; its
  detectors read facts through a `FactLookup` (`Facts.get`).
- `other_sources`: AWS Health, GuardDuty / Security Hub, custom and unclassified alerts.
- `generic`: alarms no specific detector explains (an unregistered namespace, a region-wide metric, a registered
  type's metric no interpreter reads, decision 0019), run after every specific detector.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from functions.analyze.rules import containers_workflows_apis, generic
from functions.analyze.rules.alarms import (
    alarm_diagnostics,
    alarm_fallback,
    alarm_no_longer_firing,
    errors_with_logs,
    false_alarm,
)
from functions.analyze.rules.auto_scaling import asg_cannot_scale, asg_cpu_saturation, asg_diagnostics
from functions.analyze.rules.caches import cache_at_its_limit, cache_cluster_diagnostics, replication_group_diagnostics
from functions.analyze.rules.changes_and_noise import (
    errors_after_change,
    failing_after_recorded_change,
    likely_noise,
    with_noise_note,
)
from functions.analyze.rules.commands import diagnostics_moment
from functions.analyze.rules.cost import COST_DETECTORS, billing_alarm, cost_diagnostics, cost_fallback
from functions.analyze.rules.cost_resources import log_group_diagnostics, nat_gateway_diagnostics
from functions.analyze.rules.databases import (
    db_connections_exhausted,
    db_cpu_credits,
    db_cpu_saturation,
    db_outage_event,
    db_storage_full,
    rds_cluster_diagnostics,
    rds_diagnostics,
)
from functions.analyze.rules.dynamodb_tables import dynamodb_diagnostics, dynamodb_throttling
from functions.analyze.rules.ec2_instances import cpu_saturation, ec2_diagnostics, status_check
from functions.analyze.rules.facts import Detector, FactLookup, Facts, Finding
from functions.analyze.rules.lambda_functions import (
    invocation_spike,
    lambda_diagnostics,
    lambda_out_of_memory,
    throttled_at_limit,
)
from functions.analyze.rules.load_balancers import (
    lb_5xx_origin,
    lb_no_healthy_targets,
    lb_slow_targets,
    lb_targets_unhealthy,
    load_balancer_diagnostics,
    target_group_diagnostics,
)
from functions.analyze.rules.other_sources import custom_alert, health_event, security_finding, unclassified_alert
from functions.analyze.rules.queues import (
    dead_letter_arrivals,
    queue_backlog,
    queue_consumer_stall,
    sqs_diagnostics,
)
from functions.analyze.rules.search import opensearch_diagnostics, search_domain_trouble
from functions.analyze.rules.streams import kinesis_diagnostics, stream_falling_behind
from functions.shared.alert_details import CloudWatchAlarmDetails
from functions.shared.aws_commands import BuiltCommand
from functions.shared.models import Alert, AnalysisBody, EvidenceClaim, GatheredContext
from functions.shared.registry import RESOURCE_TYPES, source_spec


def _resource_detector(
    detect: Callable[[Alert, FactLookup], Finding | None],
) -> Detector:
    """A detector of `containers_workflows_apis` (ECS, Step Functions, API Gateway) or `generic`, which read facts
    by key only, as one of this module."""

    def run(alert: Alert, facts: Facts) -> Finding | None:
        return detect(alert, facts.get)

    return run


# Per source (`functions.shared.registry`, `rules`): the detectors, most specific first; the first finding wins.
RULES: dict[str, tuple[Detector, ...]] = {
    "cost": COST_DETECTORS,
    "alarm": (
        alarm_no_longer_firing,
        billing_alarm,
        false_alarm,
        likely_noise,
        lb_no_healthy_targets,
        db_storage_full,
        db_connections_exhausted,
        asg_cannot_scale,
        asg_cpu_saturation,
        db_outage_event,
        db_cpu_credits,
        db_cpu_saturation,
        lb_targets_unhealthy,
        lb_5xx_origin,
        lb_slow_targets,
        status_check,
        *(_resource_detector(detect) for detect in containers_workflows_apis.DETECTORS),
        queue_consumer_stall,
        dead_letter_arrivals,
        queue_backlog,
        stream_falling_behind,
        cache_at_its_limit,
        search_domain_trouble,
        dynamodb_throttling,
        lambda_out_of_memory,
        throttled_at_limit,
        failing_after_recorded_change,
        errors_after_change,
        invocation_spike,
        cpu_saturation,
        errors_with_logs,
        *(_resource_detector(detect) for detect in generic.DETECTORS),
    ),
    "none": (),
}


# Per source (`next_steps`): the finding, with its next steps, when no detector fired.
NEXT_STEPS: dict[str, Callable[[Alert, Facts], Finding]] = {
    "cost": cost_fallback,
    "alarm": alarm_fallback,
    "security": security_finding,
    "health": health_event,
    "custom": custom_alert,
    "unclassified": unclassified_alert,
}


def effective_alert(alert: Alert, facts: Facts) -> Alert:
    """The alert the rules explain: a composite alarm is explained through its first child in ALARM (the resource
    and metric the compute stage followed, `investigate.composite`), so its playbook is that child's; any other
    alert is itself."""
    alarm = alert.details_of(CloudWatchAlarmDetails)
    child = facts.get("compute.child_alarm.firing")
    if alarm is None or alarm.alarm_kind != "composite" or child is None or child.resource is None:
        return alert
    spec = next((t for t in RESOURCE_TYPES if t.cfn_type == child.resource.type and t.namespace), None)
    metric = facts.get("compute.alarm_metric")
    if spec is None or metric is None:
        return alert
    details = alarm.model_copy(
        update={
            "namespace": spec.namespace,
            "metric_name": metric.subject,
            "dimensions": {spec.dimensions[0]: child.resource.name or ""},
            "threshold": metric.numbers.threshold if metric.numbers else None,
        }
    )
    return alert.model_copy(update={"resource": child.resource, "details": details})


def _finding(alert: Alert, facts: Facts) -> Finding:
    alert = effective_alert(alert, facts)
    spec = source_spec(alert.source)
    for detect in RULES[spec.rules]:
        found = detect(alert, facts)
        if found is not None:
            return with_noise_note(found, facts)
    return with_noise_note(NEXT_STEPS[spec.next_steps](alert, facts), facts)


def _evidence(finding: Finding, facts: Facts, context: GatheredContext, limit: int = 8) -> list[EvidenceClaim]:
    claims = [c for c in (facts.claim(k) for k in finding.evidence_keys) if c is not None]
    seen = {c.claim for c in claims}
    for section in context.sections():
        if section.status != "ok":
            continue
        for fact in section.facts[:4]:
            if fact.text not in seen:
                claims.append(EvidenceClaim(claim=fact.text, section=section.name, link=fact.link))
                seen.add(fact.text)
    return claims[:limit]


def _unknowns(context: GatheredContext) -> list[str]:
    missing = []
    for name in ("cost", "compute", "logs"):
        section = getattr(context, name)
        if section is None:
            missing.append(f"No {name} context was gathered.")
        elif section.status == "error":
            missing.append(f"The {name} context could not be gathered: {section.error or 'unknown error'}.")
    return missing


# Per source (`functions.shared.registry`, `diagnostics`): its commands, placed around the resources' commands.
DIAGNOSTICS: dict[str, Callable[[Alert, datetime | None, list[BuiltCommand]], list[BuiltCommand]]] = {
    "cost": cost_diagnostics,
    "alarm": alarm_diagnostics,
    "none": lambda alert, when, resources: resources,
}


# Per resource type (`diagnostics`): the commands for the alert's resource of that type, if it names one.
RESOURCE_DIAGNOSTICS: dict[str, Callable[[Alert, datetime | None], list[BuiltCommand]]] = {
    "lambda_function": lambda_diagnostics,
    "ec2_instance": ec2_diagnostics,
    "rds_instance": rds_diagnostics,
    "rds_cluster": rds_cluster_diagnostics,
    "target_group": target_group_diagnostics,
    "alb": load_balancer_diagnostics("AWS/ApplicationELB"),
    "nlb": load_balancer_diagnostics("AWS/NetworkELB"),
    "auto_scaling_group": asg_diagnostics,
    "ecs_service": containers_workflows_apis.ecs_service_diagnostics,
    "ecs_cluster": containers_workflows_apis.ecs_cluster_diagnostics,
    "state_machine": containers_workflows_apis.state_machine_diagnostics,
    "rest_api": containers_workflows_apis.rest_api_diagnostics,
    "http_api": containers_workflows_apis.http_api_diagnostics,
    "nat_gateway": nat_gateway_diagnostics,
    "log_group": log_group_diagnostics,
    "sqs_queue": sqs_diagnostics,
    "kinesis_stream": kinesis_diagnostics,
    "elasticache_cluster": cache_cluster_diagnostics,
    "elasticache_replication_group": replication_group_diagnostics,
    "opensearch_domain": opensearch_diagnostics,
    "dynamodb_table": dynamodb_diagnostics,
    "none": lambda alert, when: [],
}


def _diagnostics(alert: Alert, now: datetime | None) -> list[BuiltCommand]:
    """The commands every alert of its kind gets, whatever the detectors found."""
    when = diagnostics_moment(alert, now)
    resources = [command for spec in RESOURCE_TYPES for command in RESOURCE_DIAGNOSTICS[spec.diagnostics](alert, when)]
    return DIAGNOSTICS[source_spec(alert.source).diagnostics](alert, when, resources)


def analyze_with_rules(alert: Alert, context: GatheredContext, *, now: datetime | None = None) -> AnalysisBody:
    """Analyse an alert from its own data and the gathered context. Never raises.

    `now` anchors the diagnostics' time windows when the alert carries no time of its own.
    """
    try:
        facts = Facts.of(context)
        finding = _finding(alert, facts)
    except Exception:  # the rules are the last resort: a surprise in the data must not lose the alert
        facts, finding = (
            Facts(),
            Finding(
                root_cause=f"{alert.title} (the rule-based analysis could not read the context).",
                confidence="low",
                verdict="unknown",
            ),
        )
    try:
        built = finding.diagnostics + _diagnostics(alert, now)
    except Exception:  # the commands are extras: a surprise in the alert must not lose the analysis
        built = []
    # One command per operation: a detector's specific form (e.g. with --include-all-instances) comes first.
    diagnostics: list[str] = []
    operations: set[tuple[str, ...]] = set()
    for command in built:
        if command.command and command.tokens[1:3] not in operations:
            operations.add(command.tokens[1:3])
            diagnostics.append(command.command)
    refused = list(dict.fromkeys(b.unknown for b in built if b.unknown))
    return AnalysisBody(
        root_cause=finding.root_cause,
        confidence=finding.confidence,
        verdict=finding.verdict,
        evidence=_evidence(finding, facts, context),
        diagnostics=diagnostics[:6],
        recommendations=finding.recommendations[:4],
        unknowns=_unknowns(context) + refused,
    )
