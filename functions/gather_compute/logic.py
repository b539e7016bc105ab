"""Compute context for an alert: the source's playbook (`INVESTIGATORS`, named by `functions.shared.registry`).

- CloudWatch alarm (a composite through its first firing child): the alarm's metric around the breach, then a
  graph walk (`walk_resources`) from the resource its dimensions implicate: each registered resource type's related
  metrics and its investigator (`RESOURCE_INVESTIGATORS`: configuration, state, findings) and the neighbours it
  names (a queue's consumer, a function's table, a target group's targets), breadth first to depth 2; then what
  changed on the resources visited and the alarm's noise. A billing alarm drills from spend, as a budget does.
- Budget / cost anomaly: from spend to the resource that grew, per billing mechanism of the usage types
  (`COST_DRILLS`; a budget names none, so the cheap probes run); then new EC2 capacity.
- Application error: the graph walk from the resource it names (a Lambda function by its application name).
- Health: the event's description, affected entities and their current state.
- Security Hub / GuardDuty: the finding, its resource and how many similar findings exist.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

from functions.shared import console_links
from functions.shared.adapters.caches import ElastiCacheReader
from functions.shared.adapters.cloudtrail import CloudTrailReader
from functions.shared.adapters.cloudwatch import CloudWatchReader
from functions.shared.adapters.compute import Ec2Reader, LambdaReader
from functions.shared.adapters.containers import ApiGatewayReader, EcsReader, WorkflowReader
from functions.shared.adapters.cost_resources import LogGroupReader, MetricCatalogReader, NatGatewayReader
from functions.shared.adapters.findings import GuardDutyReader, HealthReader, SecurityHubReader
from functions.shared.adapters.infrastructure import (
    AutoScalingReader,
    LambdaEnvironmentReader,
    LoadBalancerReader,
    RdsReader,
)
from functions.shared.adapters.queues import QueueReaders
from functions.shared.adapters.search import OpenSearchReader
from functions.shared.adapters.streams import KinesisReader
from functions.shared.alert_details import CloudWatchAlarmDetails
from functions.shared.investigate.apis import api_findings, http_api_evidence, rest_api_evidence
from functions.shared.investigate.autoscaling import asg_evidence
from functions.shared.investigate.base import (
    Evidence,
    number,
    section_from,
    signed_percent,
    skipped_section,
    time_budget,
)
from functions.shared.investigate.caches import elasticache_evidence
from functions.shared.investigate.changes import TrailReader, change_subjects_of, what_changed_evidence
from functions.shared.investigate.companions import companion_metrics_evidence, unregistered_resource_evidence
from functions.shared.investigate.composite import composite_children_evidence
from functions.shared.investigate.containers import ecs_cluster_evidence, ecs_service_evidence
from functions.shared.investigate.cost_drill import (
    ec2_instances_drill,
    instance_types_of,
    lambda_writer,
    log_group_evidence,
    log_ingestion_drill,
    nat_gateway_drill,
    nat_gateway_evidence,
    s3_bucket_drill,
)
from functions.shared.investigate.databases import rds_cluster_evidence, rds_instance_evidence
from functions.shared.investigate.lambda_links import lambda_connections_evidence
from functions.shared.investigate.load_balancers import load_balancer_evidence, target_group_evidence
from functions.shared.investigate.metrics import (
    MetricWindow,
    alarm_metric_evidence,
    lambda_movers,
    related_metrics_evidence,
)
from functions.shared.investigate.noise import alarm_noise_evidence
from functions.shared.investigate.queues import sqs_queue_evidence
from functions.shared.investigate.resources import (
    ec2_instance_evidence,
    lambda_function_evidence,
    recent_ec2_launches_evidence,
)
from functions.shared.investigate.search import opensearch_domain_evidence
from functions.shared.investigate.security import finding_evidence, health_evidence
from functions.shared.investigate.streams import kinesis_stream_evidence
from functions.shared.investigate.tables import dynamodb_table_evidence
from functions.shared.investigate.target import Target, alarm_metric, implicated_target
from functions.shared.investigate.usage_mechanisms import Mechanism, anomaly_usage, mechanisms_for, probe_mechanisms
from functions.shared.investigate.workflows import state_machine_evidence
from functions.shared.models import Alert, ContextSection, Fact, Measurement, StageInput
from functions.shared.registry import resource_type, source_spec
from functions.shared.settings import Settings

ALARM_BEFORE = timedelta(hours=3)
BILLING_NAMESPACE = "AWS/Billing"
ALARM_AFTER = timedelta(minutes=30)
# Most telling first: the section is capped, and the prompt trims from the end.
FACT_ORDER = (
    "compute.finding.",
    "compute.cost_resource.",
    "compute.queue_stall",
    "compute.queue_backlog",
    "compute.stream_falling_behind",
    "compute.stream_producer_spike",
    "compute.stream_write_throttled",
    "compute.stream_read_throttled",
    "compute.stream_consumer_errors",
    "compute.stream_consumer_throttles",
    "compute.stream_consumer_duration",
    "compute.cache_memory_pressure",
    "compute.cache_engine_cpu",
    "compute.cache_connections",
    "compute.cache_replication_lag",
    "compute.cache_failover",
    "compute.cache_key_growth",
    "compute.cache_write_rise",
    "compute.cache_command_mover",
    # The node's engine, type, role and maxmemory-policy: what the cause's next steps depend on.
    "compute.cache_config",
    "compute.cache_policy",
    "compute.search_cluster_red",
    "compute.search_cluster_yellow",
    "compute.search_nodes_lost",
    "compute.search_writes_blocked",
    "compute.search_storage_low",
    "compute.search_jvm_pressure",
    "compute.search_search_rejected",
    "compute.search_write_rejected",
    "compute.search_gc_old_rising",
    "compute.search_cpu_high",
    "compute.search_indexing_growth",
    "compute.search_query_growth",
    "compute.search_indexing_rate",
    "compute.search_query_rate",
    "compute.search_snapshot_failed",
    "compute.search_domain_config",
    "compute.dynamodb_throttling",
    "compute.out_of_memory",
    "compute.lambda_mover",
    "compute.recent_launches",
    "compute.alarm_metric",
    "compute.unregistered_resource",
    "compute.companion_summary",
    "compute.child_alarm",
    "compute.lb_all_targets_unhealthy",
    "compute.lb_5xx_origin",
    "compute.db_connections_near_max",
    "compute.db_storage_low",
    "compute.db_cpu_credits_exhausted",
    "compute.asg_launch_failed",
    "compute.asg_at_max",
    "compute.db_event",
    "security.finding",
    "health.event",
    "health.affected_entities",
    "compute.recent_change",
    "compute.alarm_change",
    "compute.change.",
    "compute.ecs.service",
    "compute.ecs.stopped_tasks",
    "compute.ecs.exit_code",
    "compute.ecs.deployment",
    "compute.ecs.events",
    "compute.ecs.cluster",
    "compute.sfn.",
    "compute.api.",
    "compute.reserved_concurrency",
    "compute.lb_target_health",
    "compute.db_instance",
    "compute.db_cluster",
    "compute.asg",
    "compute.lb",
    "compute.db_callers",
    "compute.dead_letter_queue",
    "compute.queue_consumer",
    "compute.stream_consumer",
    "compute.dead_letter_sources",
    "compute.memory_pressure",
    "compute.instance",
    "compute.status_checks",
    "compute.scheduled_event",
    "security.similar_findings",
    "compute.alarm_noise",
    "compute.metric.",
    "compute.queue_config",
    "compute.stream_config",
    "compute.cache_usage",
    "compute.cache_event.",
    "compute.stream_incoming",
    "compute.search_storage",
    "compute.table_config",
    "compute.lambda_config",
    "compute.ecs.log_group",
    "compute.cost_runners_up",
    "compute.nat_gateway",
    "compute.log_group",
    "compute.lambda_sources",
    "security.remediation",
)


@dataclass
class ComputeReaders:
    cloudwatch: CloudWatchReader
    lambdas: LambdaReader
    ec2: Ec2Reader
    securityhub: SecurityHubReader
    guardduty: GuardDutyReader
    health: HealthReader
    # Built lazily (no client until first use), so a reader set without them still works.
    rds: RdsReader = field(default_factory=RdsReader)
    elbv2: LoadBalancerReader = field(default_factory=LoadBalancerReader)
    autoscaling: AutoScalingReader = field(default_factory=AutoScalingReader)
    lambda_environments: LambdaEnvironmentReader = field(default_factory=LambdaEnvironmentReader)
    # What changed (CloudTrail LookupEvents); None: not looked up (a reader set built by hand, e.g. in a test).
    cloudtrail: TrailReader | None = None
    ecs: EcsReader = field(default_factory=EcsReader)
    workflows: WorkflowReader = field(default_factory=WorkflowReader)
    apis: ApiGatewayReader = field(default_factory=ApiGatewayReader)
    nat_gateways: NatGatewayReader = field(default_factory=NatGatewayReader)
    log_groups: LogGroupReader = field(default_factory=LogGroupReader)
    metric_catalog: MetricCatalogReader = field(default_factory=MetricCatalogReader)
    queues: QueueReaders = field(default_factory=QueueReaders.default)
    kinesis: KinesisReader = field(default_factory=KinesisReader)
    elasticache: ElastiCacheReader = field(default_factory=ElastiCacheReader)
    opensearch: OpenSearchReader = field(default_factory=OpenSearchReader)

    @classmethod
    def default(cls, region: str | None = None) -> ComputeReaders:
        return cls(
            cloudwatch=CloudWatchReader(region=region),
            lambdas=LambdaReader(region=region),
            ec2=Ec2Reader(region=region),
            securityhub=SecurityHubReader(region=region),
            guardduty=GuardDutyReader(region=region),
            health=HealthReader(),
            rds=RdsReader(region=region),
            elbv2=LoadBalancerReader(region=region),
            autoscaling=AutoScalingReader(region=region),
            lambda_environments=LambdaEnvironmentReader(region=region),
            cloudtrail=CloudTrailReader(region=region),
            ecs=EcsReader(region=region),
            workflows=WorkflowReader(region=region),
            apis=ApiGatewayReader(region=region),
            nat_gateways=NatGatewayReader(region=region),
            log_groups=LogGroupReader(region=region),
            metric_catalog=MetricCatalogReader(region=region),
            queues=QueueReaders.default(region),
            kinesis=KinesisReader(region=region),
            elasticache=ElastiCacheReader(region=region),
            opensearch=OpenSearchReader(region=region),
        )


def _rank(key: str) -> int:
    return next((i for i, prefix in enumerate(FACT_ORDER) if key.startswith(prefix)), len(FACT_ORDER))


def _moment(alert: Alert, now: datetime) -> datetime:
    at = alert.occurred_at
    if at is None or at.tzinfo is None or at > now or now - at > timedelta(days=14):
        return now
    return at


# The graph walk: from the implicated resource to its neighbours and theirs (depth <= 2), at most this many
# resources besides the implicated one, each within the branch's one time budget (`time_budget`).
MAX_WALK_DEPTH = 2
MAX_NEIGHBOURS_VISITED = 4


@dataclass
class Walk:
    """What a graph walk found: the evidence of every resource visited, and those resources, the root first."""

    evidence: Evidence
    visited: list[Target]


def walk_resources(
    readers: ComputeReaders, root: Target, *, at: datetime, now: datetime, before: timedelta, after: timedelta,
    period_seconds: int, skip_metric: str | None = None,
) -> Walk:  # fmt: skip
    """The implicated resource's evidence, then its neighbours' (breadth first, depth <= MAX_WALK_DEPTH, at most
    MAX_NEIGHBOURS_VISITED of them), each neighbour's facts carrying the edge that led to it (`Fact.via`) and each
    hop recorded in what was looked at, so the rules and the model see why a neighbour is in the picture."""
    evidence = resource_evidence(
        readers, root, at=at, now=now, before=before, after=after, period_seconds=period_seconds,
        skip_metric=skip_metric,
    )  # fmt: skip
    visited = [root]
    frontier = [(neighbour, 1) for neighbour in evidence.neighbours]
    while frontier and len(visited) <= MAX_NEIGHBOURS_VISITED:
        neighbour, depth = frontier.pop(0)
        if neighbour.target.key in {t.key for t in visited}:
            continue
        visited.append(neighbour.target)
        found = resource_evidence(
            readers, neighbour.target, at=at, now=now, before=before, after=after, period_seconds=period_seconds
        )
        for fact in found.facts:
            if fact.via is None:
                fact.via = neighbour.edge
            if neighbour.target.name not in fact.text:
                fact.text = f"{neighbour.target.name}: {fact.text}"
        evidence.looked_at.append(f"Followed {neighbour.edge}")
        evidence.add(found.model_copy(update={"neighbours": []}))
        if depth < MAX_WALK_DEPTH:
            frontier.extend((next_hop, depth + 1) for next_hop in found.neighbours)
    evidence.neighbours = []
    return Walk(evidence=evidence, visited=visited)


def resource_evidence(
    readers: ComputeReaders, target: Target, *, at: datetime, now: datetime, before: timedelta, after: timedelta,
    period_seconds: int, skip_metric: str | None = None,
) -> Evidence:  # fmt: skip
    """Related metrics plus configuration / state of one resource, and its neighbours (not yet followed)."""
    evidence = Evidence()
    metrics, _ = related_metrics_evidence(
        readers.cloudwatch,
        target,
        at=at,
        now=now,
        before=before,
        after=after,
        period_seconds=period_seconds,
        skip=skip_metric,
    )
    evidence.add(metrics)
    investigate = RESOURCE_INVESTIGATORS[resource_type(target.kind).investigator]
    if investigate is not None:
        evidence.add(investigate(readers, target, now))
    return evidence


# Configuration and state of one resource, per resource type (`functions.shared.registry`, `investigator`); the
# related metrics are read for every type that has a CloudWatch namespace.
ResourceInvestigator = Callable[[ComputeReaders, Target, datetime], Evidence]
RESOURCE_INVESTIGATORS: dict[str, ResourceInvestigator | None] = {
    "lambda_function": lambda readers, target, now: lambda_function_evidence(
        readers.lambdas, target.name, now=now, region=target.region
    ).add(lambda_connections_evidence(readers.lambdas, readers.queues, target, now=now)),
    "ec2_instance": lambda readers, target, now: ec2_instance_evidence(
        readers.ec2, target.name, now=now, region=target.region
    ),
    "rds_instance": lambda readers, target, now: rds_instance_evidence(
        readers.rds, readers.cloudwatch, readers.lambda_environments, target, now=now
    ),
    "rds_cluster": lambda readers, target, now: rds_cluster_evidence(
        readers.rds, readers.cloudwatch, readers.lambda_environments, target, now=now
    ),
    "load_balancer": lambda readers, target, now: load_balancer_evidence(
        readers.elbv2, readers.cloudwatch, target, now=now
    ),
    "target_group": lambda readers, target, now: target_group_evidence(readers.elbv2, target),
    "auto_scaling_group": lambda readers, target, now: asg_evidence(readers.autoscaling, target, now=now),
    "ecs_service": lambda readers, target, now: ecs_service_evidence(
        readers.ecs, target.qualifiers.get("ClusterName"), target.name, now=now, region=target.region
    ),
    "ecs_cluster": lambda readers, target, now: ecs_cluster_evidence(
        readers.ecs, target.name, now=now, region=target.region
    ),
    "state_machine": lambda readers, target, now: state_machine_evidence(
        readers.workflows, target.name, now=now, region=target.region
    ),
    "rest_api": lambda readers, target, now: rest_api_evidence(
        readers.apis, target.name, target.qualifiers.get("Stage"), now=now, region=target.region
    ),
    "http_api": lambda readers, target, now: http_api_evidence(
        readers.apis, target.name, target.qualifiers.get("Stage"), now=now, region=target.region
    ),
    "nat_gateway": lambda readers, target, now: nat_gateway_evidence(
        readers.nat_gateways, target.name, region=target.region
    ),
    "log_group": lambda readers, target, now: log_group_evidence(readers.log_groups, target.name, region=target.region),
    "sqs_queue": lambda readers, target, now: sqs_queue_evidence(
        readers.queues.sqs, readers.queues.mappings, readers.cloudwatch, target, now=now
    ),
    "kinesis_stream": lambda readers, target, now: kinesis_stream_evidence(
        readers.kinesis, readers.queues.mappings, readers.lambdas, readers.cloudwatch, target, now=now
    ),
    "elasticache": lambda readers, target, now: elasticache_evidence(
        readers.elasticache, readers.cloudwatch, target, now=now
    ),
    "opensearch_domain": lambda readers, target, now: opensearch_domain_evidence(
        readers.opensearch, readers.cloudwatch, target, now=now
    ),
    "dynamodb_table": lambda readers, target, now: dynamodb_table_evidence(
        readers.queues.dynamodb, readers.queues.mappings, readers.cloudwatch, target, now=now
    ),
    "metrics_only": None,
}


def _alarm_playbook(alert: Alert, readers: ComputeReaders, now: datetime) -> Evidence:
    evidence = Evidence()
    at = _moment(alert, now)
    metric = alarm_metric(alert)
    target = implicated_target(alert)
    window = None
    children = composite_children_evidence(readers.cloudwatch, alert)
    if children is not None:
        # A composite alarm: what broke is in its children; the first one in ALARM stands in for its metric.
        evidence.add(children.evidence)
        metric = metric or children.metric
        target = target or children.target
    if metric is not None:
        found, window = alarm_metric_evidence(
            readers.cloudwatch, metric, at=at, now=now, region=alert.region, before=ALARM_BEFORE, after=ALARM_AFTER
        )
        evidence.add(found)
    elif children is None:
        evidence.notes.append("The alarm watches no single metric (metric math): its metric not read.")
    if metric is not None and metric.namespace == BILLING_NAMESPACE:
        # A billing alarm is a cost alert watched through CloudWatch: drill from the bill as a budget would.
        evidence.add(_cost_drill_playbook(alert, readers, now))
        return evidence
    if target is None:
        if metric is not None and metric.dimensions:
            # A namespace of no registered type: say so, and read what CloudWatch has beside the alarm's metric.
            evidence.add(
                unregistered_resource_evidence(
                    readers.cloudwatch,
                    readers.metric_catalog,
                    metric,
                    at=at,
                    now=now,
                    region=alert.region,
                    before=ALARM_BEFORE,
                    after=ALARM_AFTER,
                )
            )
        else:
            evidence.notes.append("The alarm names no Lambda function, instance, queue, table or API to look at.")
        return evidence.add(_changes_and_noise(alert, readers, [], window, at=at, now=now))
    same_namespace = metric is not None and metric.namespace == target.namespace
    walk = walk_resources(
        readers,
        target,
        at=at,
        now=now,
        before=ALARM_BEFORE,
        after=ALARM_AFTER,
        period_seconds=metric.period_seconds if metric else 300,
        skip_metric=metric.metric_name if same_namespace and metric else None,
    )
    evidence.add(walk.evidence)
    related = {name for name, _ in resource_type(target.kind).related_metrics}
    if same_namespace and metric is not None and metric.metric_name not in related:
        # A metric the type's related metrics do not cover: what else the resource publishes may show why. By the
        # resource's own dimensions, not the alarm's (DynamoDB's SystemErrors also carry an Operation).
        evidence.add(
            companion_metrics_evidence(
                readers.cloudwatch,
                readers.metric_catalog,
                metric.model_copy(update={"dimensions": target.dimensions}),
                at=at,
                now=now,
                region=alert.region,
                before=ALARM_BEFORE,
                after=ALARM_AFTER,
                skip=frozenset(related),
            )
        )
    evidence.add(_changes_and_noise(alert, readers, walk.visited, window, at=at, now=now))
    # Where an API's errors come from needs the API's and its backend's facts together: read after the walk.
    evidence.facts.extend(api_findings(evidence.facts, metric.metric_name if metric else None))
    return evidence


def _changes_and_noise(
    alert: Alert, readers: ComputeReaders, visited: list[Target], window: MetricWindow | None, *, at: datetime,
    now: datetime,
) -> Evidence:  # fmt: skip
    """What changed on the visited resources and the alarm, then the noise forms the alarm shows."""
    alarm = alert.details_of(CloudWatchAlarmDetails)
    alarm_name = alarm.alarm_name if alarm else None
    changes = _what_changed(readers, visited, at=at, now=now, alarm_name=alarm_name, region=alert.region)
    return changes.add(alarm_noise_evidence(alert, window, changes.fact("compute.alarm_change")))


def _what_changed(
    readers: ComputeReaders, visited: list[Target], *, at: datetime, now: datetime, alarm_name: str | None,
    region: str | None,
) -> Evidence:  # fmt: skip
    """Recorded writes on the visited resources (the implicated one first), the alarm, and the secrets the
    implicated functions' environments name."""
    if readers.cloudtrail is None:
        return Evidence()
    environments: dict[str, dict[str, str]] = {}
    for target in visited:
        if target.kind == "lambda":  # cached: the walk read each function already
            configuration = Evidence().read(target.name, partial(readers.lambdas.function, target.name)) or {}
            environments[target.name] = (configuration.get("Environment") or {}).get("Variables") or {}
    subjects = change_subjects_of([t.name for t in visited], alarm_name=alarm_name, environments=environments)
    return what_changed_evidence(readers.cloudtrail, subjects, at=at, now=now, region=region)


def _cost_drill_playbook(alert: Alert, readers: ComputeReaders, now: datetime) -> Evidence:
    """From spend to resource: the mechanisms billing the anomaly's usage types (a budget names none: the cheap
    probes), each ranking its resources by what AWS bills; then new EC2 capacity."""
    named = mechanisms_for(anomaly_usage(alert))
    evidence = Evidence()
    for mechanism in named or probe_mechanisms():
        evidence.add(COST_DRILLS[mechanism](alert, readers, now, not named))
    if "lambda" not in (named or probe_mechanisms()):
        evidence.notes.append("The anomaly's usage types are not Lambda's: Lambda invocations not ranked.")
    evidence.add(recent_ec2_launches_evidence(readers.ec2, now=now, region=alert.region))
    return evidence


def _lambda_drill(alert: Alert, readers: ComputeReaders, now: datetime, probe: bool = True) -> Evidence:
    evidence = Evidence()
    evidence.looked_at.append("Lambda invocations per function, last 24 h vs the 24 h before")
    movers = evidence.read(
        "Lambda invocations per function", lambda: lambda_movers(readers.cloudwatch, readers.lambdas, now=now)
    )
    if not movers:
        if movers is not None:
            evidence.notes.append("No Lambda function's invocations grew in the last 24 hours.")
        return evidence
    top = movers[0]
    if top.last_24h <= top.previous_24h:
        evidence.notes.append("No Lambda function's invocations grew in the last 24 hours.")
        return evidence
    evidence.facts.append(
        Fact(
            key="compute.lambda_mover",
            text=(
                f"Lambda {top.function_name}: {number(top.last_24h)} invocations in the last 24 h vs "
                f"{number(top.previous_24h)} the 24 h before ({signed_percent(top.change_percent)})"
            ),
            value=round(top.change_percent, 1) if top.change_percent is not None else top.last_24h,
            link=console_links.lambda_function_url(top.function_name, alert.region),
            subject=top.function_name,
            numbers=Measurement(
                value=top.last_24h,
                baseline=top.previous_24h,
                unit="invocations",
                window="24h",
                change_pct=top.change_percent,
            ),
        )
    )
    target = Target.of("lambda", top.function_name, alert.region)
    walk = walk_resources(
        readers,
        target,
        at=now,
        now=now,
        before=timedelta(hours=48),
        after=timedelta(0),
        period_seconds=3600,
        skip_metric="Invocations",
    )
    evidence.add(walk.evidence)
    return evidence


def _nat_drill(alert: Alert, readers: ComputeReaders, now: datetime, probe: bool) -> Evidence:
    evidence = nat_gateway_drill(readers.cloudwatch, readers.nat_gateways, now=now, region=alert.region, probe=probe)
    top = next((f for f in evidence.facts if f.key == "compute.cost_resource.nat_gateway"), None)
    if top is not None and top.subject:
        evidence.add(nat_gateway_evidence(readers.nat_gateways, top.subject, region=alert.region))
    return evidence


def _log_ingestion_drill(alert: Alert, readers: ComputeReaders, now: datetime, probe: bool) -> Evidence:
    """The log group whose ingestion grew, then what writes it (a Lambda function's configuration: when it last
    changed is when its log level may have)."""
    evidence = log_ingestion_drill(readers.cloudwatch, readers.log_groups, now=now, region=alert.region, probe=probe)
    top = evidence.fact("compute.cost_resource.log_group")
    writer = lambda_writer(top.subject) if top is not None and top.subject else None
    if writer is not None and top is not None:
        edge = f"writer of log group {top.subject}"
        found = lambda_function_evidence(readers.lambdas, writer, now=now, region=alert.region)
        for fact in found.facts:
            fact.via = edge
        evidence.looked_at.append(f"Followed {edge}")
        evidence.add(found)
    return evidence


def _ec2_instances_drill(alert: Alert, readers: ComputeReaders, now: datetime, probe: bool) -> Evidence:
    types = instance_types_of([usage for _, usage in anomaly_usage(alert)])
    return ec2_instances_drill(readers.ec2, types, now=now, region=alert.region)


def _s3_bucket_drill(alert: Alert, readers: ComputeReaders, now: datetime, probe: bool) -> Evidence:
    usage_types = [usage for _, usage in anomaly_usage(alert)]
    return s3_bucket_drill(readers.cloudwatch, readers.metric_catalog, usage_types, now=now, region=alert.region)


# Per billing mechanism (`functions.shared.investigate.usage_mechanisms.USAGE_MECHANISMS`): the drill from the cost to
# the resources behind it. `probe`: no usage type named it, so it reports only clear growth.
CostDrill = Callable[[Alert, ComputeReaders, datetime, bool], Evidence]
COST_DRILLS: dict[Mechanism, CostDrill] = {
    "lambda": _lambda_drill,
    "nat_gateway": _nat_drill,
    "log_ingestion": _log_ingestion_drill,
    "ec2_instances": _ec2_instances_drill,
    "s3_bucket": _s3_bucket_drill,
}


def _custom_playbook(alert: Alert, readers: ComputeReaders, now: datetime) -> Evidence:
    target = implicated_target(alert)
    if target is None and alert.resource and alert.resource.name:
        # An application name often is its function's name; a missing function is reported, not guessed.
        target = Target.of("lambda", alert.resource.name, alert.region)
    if target is None:
        evidence = Evidence()
        evidence.notes.append("The application error names no AWS resource to look at.")
        return evidence
    at = _moment(alert, now)
    walk = walk_resources(readers, target, at=at, now=now, before=ALARM_BEFORE, after=ALARM_AFTER, period_seconds=300)
    changes = _what_changed(readers, walk.visited, at=at, now=now, alarm_name=None, region=alert.region)
    return walk.evidence.add(changes)


def gather_compute(
    stage_input: StageInput, readers: ComputeReaders, *, now: datetime, settings: Settings
) -> ContextSection:
    """The compute section for one alert.

    Raises:
        GatherThrottledError: an AWS read throttled (the state machine retries the branch).
    """
    started = time.monotonic()
    alert = stage_input.alert
    if stage_input.route == "heartbeat":
        return skipped_section("compute", "Heartbeat alert: no compute context needed.", started=started)
    local = settings.environment == "local"
    with time_budget(settings.gather_timeout_seconds):
        evidence = _playbook(alert, readers, now, local=local)
    if evidence is None:
        return skipped_section(
            "compute", "The alert could not be classified, so no resource is known to look at.", started=started
        )
    evidence.facts.sort(key=lambda f: _rank(f.key))
    return section_from("compute", evidence, started=started)


def _health_playbook(alert: Alert, readers: ComputeReaders, now: datetime, *, local: bool) -> Evidence:
    return health_evidence(alert, readers.health, readers.ec2, now=now, use_health_api=not local)


def _finding_playbook(alert: Alert, readers: ComputeReaders, now: datetime, *, local: bool) -> Evidence:
    return finding_evidence(
        alert, readers.securityhub, readers.guardduty, readers.ec2, now=now, use_guardduty_api=not local
    )


class Playbook(Protocol):
    def __call__(self, alert: Alert, readers: ComputeReaders, now: datetime, *, local: bool) -> Evidence: ...


def _local_agnostic(playbook: Callable[[Alert, ComputeReaders, datetime], Evidence]) -> Playbook:
    def run(alert: Alert, readers: ComputeReaders, now: datetime, *, local: bool) -> Evidence:
        return playbook(alert, readers, now)

    return run


# The compute playbook of each source (`functions.shared.registry`, investigators["compute"]); None: skipped.
INVESTIGATORS: dict[str, Playbook | None] = {
    "alarm": _local_agnostic(_alarm_playbook),
    "cost_drill": _local_agnostic(_cost_drill_playbook),
    "health": _health_playbook,
    "finding": _finding_playbook,
    "application": _local_agnostic(_custom_playbook),
    "skip": None,
}


def _playbook(alert: Alert, readers: ComputeReaders, now: datetime, *, local: bool) -> Evidence | None:
    playbook = INVESTIGATORS[source_spec(alert.source).investigators["compute"]]
    return playbook(alert, readers, now, local=local) if playbook is not None else None
