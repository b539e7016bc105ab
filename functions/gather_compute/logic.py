"""Compute context for an alert, by alert source (the playbooks, `INVESTIGATORS`, named by `functions.shared.registry`):

- CloudWatch alarm: the alarm's metric around the breach (peak vs baseline), related metrics of the same resource
  (Lambda, EC2, SQS, DynamoDB, API Gateway), and the resource's recent configuration changes.
- Budget / cost anomaly: drill from spend to the resource: the Lambda function whose invocations grew most in the
  last 24 hours, its metrics and configuration.
- Health: the event's description, affected entities and their current state.
- Security Hub / GuardDuty: the finding, its resource and how many similar findings exist.
- Custom application errors: the named Lambda function's metrics and configuration.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from functions.shared import console_links
from functions.shared.adapters.cloudwatch import CloudWatchReader
from functions.shared.adapters.compute import Ec2Reader, LambdaReader
from functions.shared.adapters.findings import GuardDutyReader, HealthReader, SecurityHubReader
from functions.shared.adapters.queues import QueueReaders
from functions.shared.investigate.base import (
    Evidence,
    number,
    section_from,
    signed_percent,
    skipped_section,
    time_budget,
)
from functions.shared.investigate.lambda_links import lambda_connections_evidence
from functions.shared.investigate.metrics import alarm_metric_evidence, lambda_movers, related_metrics_evidence
from functions.shared.investigate.queues import sqs_queue_evidence
from functions.shared.investigate.resources import (
    ec2_instance_evidence,
    lambda_function_evidence,
    recent_ec2_launches_evidence,
)
from functions.shared.investigate.security import finding_evidence, health_evidence
from functions.shared.investigate.tables import dynamodb_table_evidence
from functions.shared.investigate.target import Target, alarm_metric, implicated_target
from functions.shared.models import Alert, ContextSection, Fact, Measurement, StageInput
from functions.shared.registry import resource_type, source_spec
from functions.shared.settings import Settings

ALARM_BEFORE = timedelta(hours=3)
ALARM_AFTER = timedelta(minutes=30)
# Most telling first: the section is capped, and the prompt trims from the end.
FACT_ORDER = (
    "compute.queue_stall",
    "compute.queue_backlog",
    "compute.dynamodb_throttling",
    "compute.out_of_memory",
    "compute.lambda_mover",
    "compute.recent_launches",
    "compute.alarm_metric",
    "security.finding",
    "health.event",
    "health.affected_entities",
    "compute.recent_change",
    "compute.reserved_concurrency",
    "compute.dead_letter_queue",
    "compute.queue_consumer",
    "compute.dead_letter_sources",
    "compute.memory_pressure",
    "compute.instance",
    "compute.status_checks",
    "compute.scheduled_event",
    "security.similar_findings",
    "compute.metric.",
    "compute.queue_config",
    "compute.table_config",
    "compute.lambda_config",
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
    queues: QueueReaders

    @classmethod
    def default(cls, region: str | None = None) -> ComputeReaders:
        return cls(
            cloudwatch=CloudWatchReader(region=region),
            lambdas=LambdaReader(region=region),
            ec2=Ec2Reader(region=region),
            securityhub=SecurityHubReader(region=region),
            guardduty=GuardDutyReader(region=region),
            health=HealthReader(),
            queues=QueueReaders.default(region),
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
    "sqs_queue": lambda readers, target, now: sqs_queue_evidence(
        readers.queues.sqs, readers.queues.mappings, readers.cloudwatch, target, now=now
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
    if metric is not None:
        found, _ = alarm_metric_evidence(
            readers.cloudwatch, metric, at=at, now=now, region=alert.region, before=ALARM_BEFORE, after=ALARM_AFTER
        )
        evidence.add(found)
    else:
        evidence.notes.append("The alarm watches no single metric (composite or metric math): its metric not read.")
    if target is None:
        evidence.notes.append("The alarm names no Lambda function, instance, queue, table or API to look at.")
        return evidence
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
    return evidence


def _cost_drill_playbook(alert: Alert, readers: ComputeReaders, now: datetime) -> Evidence:
    """From spend to resource: which Lambda function's invocations moved with the bill, and new EC2 capacity."""
    evidence = _lambda_drill(alert, readers, now)
    evidence.add(recent_ec2_launches_evidence(readers.ec2, now=now, region=alert.region))
    return evidence


def _lambda_drill(alert: Alert, readers: ComputeReaders, now: datetime) -> Evidence:
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


def _custom_playbook(alert: Alert, readers: ComputeReaders, now: datetime) -> Evidence:
    target = implicated_target(alert)
    if target is None and alert.resource and alert.resource.name:
        # An application name often is its function's name; a missing function is reported, not guessed.
        target = Target.of("lambda", alert.resource.name, alert.region)
    if target is None:
        evidence = Evidence()
        evidence.notes.append("The application error names no AWS resource to look at.")
        return evidence
    return walk_resources(
        readers, target, at=_moment(alert, now), now=now, before=ALARM_BEFORE, after=ALARM_AFTER, period_seconds=300
    ).evidence


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
