"""Log context for an alert: error lines from Logs Insights in the implicated log group, grouped by pattern.

The log group, per source (`INVESTIGATORS`, named by `functions.shared.registry`): the implicated Lambda function's
`/aws/lambda/<name>` (for an ECS service, API or state machine: where its configuration says it logs,
`functions.shared.investigate.log_sources`; for an SQS queue, which logs nothing itself, its consumer's: the
function of its event source mapping, or for a dead-letter queue that of its source queue), or, for budget and
cost-anomaly alerts, that of the Lambda function whose invocations grew most (the cost drill); failing that, the
log group whose ingestion grew most, read for its most repeated lines of any level (a log bill is rarely errors:
debug logging left on is the usual cause).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from functions.shared.adapters.cloudwatch import CloudWatchReader
from functions.shared.adapters.compute import LambdaReader
from functions.shared.adapters.containers import ApiGatewayReader, EcsReader, WorkflowReader
from functions.shared.adapters.cost_resources import LogGroupReader
from functions.shared.adapters.logs import LogsReader
from functions.shared.adapters.queues import EventSourceMappingReader, SqsReader, queue_name_of_arn
from functions.shared.adapters.streams import stream_name_of_arn
from functions.shared.investigate.base import Evidence, budget_remaining, section_from, skipped_section, time_budget
from functions.shared.investigate.composite import composite_child_target
from functions.shared.investigate.cost_drill import log_ingestion_movers
from functions.shared.investigate.log_sources import LOG_SOURCES
from functions.shared.investigate.log_volume import log_volume_evidence
from functions.shared.investigate.logs import log_error_evidence
from functions.shared.investigate.metrics import lambda_movers
from functions.shared.investigate.queues import consumer_log_group
from functions.shared.investigate.target import Target, implicated_target
from functions.shared.models import Alert, ContextSection, StageInput
from functions.shared.registry import resource_type, source_spec
from functions.shared.settings import Settings

AFTER_ALERT = timedelta(minutes=15)
# Keep a little of the branch's time budget for shaping the section after the query.
QUERY_WAIT_MARGIN_SECONDS = 1.0


@dataclass
class LogReaders:
    logs: LogsReader
    cloudwatch: CloudWatchReader
    lambdas: LambdaReader
    # Where an ECS service, an API or a state machine logs (`investigate.log_sources`).
    ecs: EcsReader = field(default_factory=EcsReader)
    apis: ApiGatewayReader = field(default_factory=ApiGatewayReader)
    workflows: WorkflowReader = field(default_factory=WorkflowReader)
    log_groups: LogGroupReader = field(default_factory=LogGroupReader)
    # A queue has no logs of its own: its consumer's (event source mapping) are searched instead.
    mappings: EventSourceMappingReader | None = None
    sqs: SqsReader | None = None  # a dead-letter queue's source queue, whose consumer failed the messages

    @classmethod
    def default(cls, region: str | None = None) -> LogReaders:
        return cls(
            logs=LogsReader(region=region),
            cloudwatch=CloudWatchReader(region=region),
            lambdas=LambdaReader(region=region),
            ecs=EcsReader(region=region),
            apis=ApiGatewayReader(region=region),
            workflows=WorkflowReader(region=region),
            log_groups=LogGroupReader(region=region),
            mappings=EventSourceMappingReader(region=region),
            sqs=SqsReader(region=region),
        )


def _implicated_group(alert: Alert, evidence: Evidence, readers: LogReaders | None = None) -> tuple[bool, str | None]:
    """(decided, log group): the implicated resource's log group, when the alert implicates one (for a resource
    that logs elsewhere, read from its configuration: `investigate.log_sources`)."""
    target = implicated_target(alert)
    if target is None and readers is not None:
        # A composite alarm names no resource: its first child in ALARM does (`investigate.composite`).
        target = evidence.read(
            "the composite alarm's children", partial(composite_child_target, readers.cloudwatch, alert)
        )
    if target is None:
        return False, None
    if target.log_group:
        return True, target.log_group
    source = LOG_SOURCES.get(target.kind)
    if source is not None and readers is not None and (group := source(readers, target, evidence)):
        evidence.looked_at.append(f"{target.name} logs to {group}")
        return True, group
    evidence.notes.append(f"No log group is known for {target.kind} {target.name}.")
    return True, None


def _no_group(alert: Alert, evidence: Evidence) -> None:
    evidence.notes.append(f"A {alert.source} alert names no log group to search.")


def _alarm_group(alert: Alert, readers: LogReaders, evidence: Evidence, now: datetime) -> str | None:
    target = implicated_target(alert)
    if target is not None and target.kind in _CONSUMED_KINDS and readers.mappings is not None:
        consumer = _queue_consumer_group(alert, target, readers.mappings, evidence, readers.sqs)
        if consumer is not None:
            return consumer
    decided, group = _implicated_group(alert, evidence, readers)
    if not decided:
        _no_group(alert, evidence)
    return group


# Types with no logs of their own whose Lambda consumers (event source mappings) log what goes wrong with them.
_CONSUMED_KINDS = ("sqs", "kinesis_stream")


def _queue_consumer_group(
    alert: Alert, source: Target, mappings: EventSourceMappingReader, evidence: Evidence, sqs: SqsReader | None
) -> str | None:
    """The log group of the Lambda consuming a queue or a Kinesis stream (for a dead-letter queue, the consumer of
    the queue whose failed messages land in it)."""
    arn = alert.resource.arn if alert.resource and alert.resource.arn else None
    names = queue_name_of_arn if source.kind == "sqs" else stream_name_of_arn
    if arn is None or names(arn) != source.name:
        if not alert.account_id:
            return None
        region = alert.region or source.region or "us-east-1"
        resource = source.name if source.kind == "sqs" else f"stream/{source.name}"
        service = "sqs" if source.kind == "sqs" else "kinesis"
        arn = f"arn:aws:{service}:{region}:{alert.account_id}:{resource}"
    found = consumer_log_group(mappings, arn, evidence, sqs if source.kind == "sqs" else None)
    if found is None:
        return None
    function, group = found
    label = resource_type(source.kind).label
    evidence.notes.append(f"{label} {source.name} has no logs of its own: searched its consumer Lambda {function}.")
    return group


def _application_group(alert: Alert, readers: LogReaders, evidence: Evidence, now: datetime) -> str | None:
    """The implicated resource's log group, else that of the Lambda function the application is named after."""
    decided, group = _implicated_group(alert, evidence)
    if decided:
        return group
    if alert.resource and alert.resource.name:
        return Target.of("lambda", alert.resource.name).log_group
    _no_group(alert, evidence)
    return None


def _cost_mover_group(alert: Alert, readers: LogReaders, evidence: Evidence, now: datetime) -> str | None:
    """The implicated resource's log group, else that of the Lambda function whose invocations grew most."""
    decided, group = _implicated_group(alert, evidence)
    if decided:
        return group
    movers = evidence.read(
        "Lambda invocations per function", lambda: lambda_movers(readers.cloudwatch, readers.lambdas, now=now)
    )
    if movers and movers[0].last_24h > movers[0].previous_24h:
        return Target.of("lambda", movers[0].function_name).log_group
    if movers is not None:
        evidence.notes.append("No Lambda function's invocations grew in the last 24 hours: no log group to search.")
    return None


def _ingestion_group(alert: Alert, readers: LogReaders, evidence: Evidence, now: datetime) -> str | None:
    """The log group whose ingestion (IncomingBytes) grew most, when it clearly grew: what a log bill is made of."""
    found = evidence.read(
        "log groups by IncomingBytes", lambda: log_ingestion_movers(readers.cloudwatch, readers.log_groups, now=now)
    )
    if found is None:
        return None
    usages, _ = found
    if usages and usages[0].grew_clearly():
        return usages[0].resource_id
    evidence.notes.append("No log group's ingestion grew clearly in the last 24 hours.")
    return None


@dataclass(frozen=True)
class LogInvestigator:
    """How a source finds its log group, and whether the search window ends now rather than at the alert.

    `volume_group`, tried when `log_group` finds none: a log group to read for what it logs most (every kind of
    line, not only errors), e.g. the one whose ingestion drives a bill.
    """

    log_group: Callable[[Alert, LogReaders, Evidence, datetime], str | None]
    search_up_to_now: bool = False
    volume_group: Callable[[Alert, LogReaders, Evidence, datetime], str | None] | None = None


# The log investigator of each source (`functions.shared.registry`, investigators["logs"]); None: skipped.
INVESTIGATORS: dict[str, LogInvestigator | None] = {
    "implicated": LogInvestigator(_alarm_group),
    "application": LogInvestigator(_application_group),
    "cost_mover": LogInvestigator(_cost_mover_group, search_up_to_now=True, volume_group=_ingestion_group),
    "skip": None,
}


def log_group_for(alert: Alert, readers: LogReaders, evidence: Evidence, now: datetime) -> str | None:
    """The log group to search, or None (with a note saying why)."""
    investigator = INVESTIGATORS[source_spec(alert.source).investigators["logs"]]
    if investigator is None:  # gather_logs skips such a source; asked anyway, the implicated resource decides
        return _alarm_group(alert, readers, evidence, now)
    return investigator.log_group(alert, readers, evidence, now)


def gather_logs(stage_input: StageInput, readers: LogReaders, *, now: datetime, settings: Settings) -> ContextSection:
    """The logs section for one alert.

    Raises:
        GatherThrottledError: Logs Insights throttled (incl. too many concurrent queries); the ASL retries.
    """
    started = time.monotonic()
    alert = stage_input.alert
    if stage_input.route == "heartbeat":
        return skipped_section("logs", "Heartbeat alert: no log context needed.", started=started)
    investigator = INVESTIGATORS[source_spec(alert.source).investigators["logs"]]
    if investigator is None:
        reason = f"No application log group is searched for a {alert.source} alert."
        return skipped_section("logs", reason, started=started)
    with time_budget(settings.gather_timeout_seconds):
        evidence = Evidence()
        log_group = log_group_for(alert, readers, evidence, now)
        if log_group is None and investigator.volume_group is not None:
            volume_group = investigator.volume_group(alert, readers, evidence, now)
            if volume_group is not None:
                return _volume_section(volume_group, readers, evidence, now, settings, alert, started)
        if log_group is None:
            if evidence.missing_permissions or evidence.failures:
                return section_from("logs", evidence, started=started)
            return skipped_section("logs", " ".join(evidence.notes) or "No log group to search.", started=started)
        at = alert.occurred_at
        if investigator.search_up_to_now or at is None or at > now or now - at > timedelta(days=14):
            at = now
        start = at - timedelta(minutes=settings.logs_query_lookback_minutes)
        # A minute of slack so a line logged as the alert fired is never cut off by second-granular query times.
        end = min(now, at + AFTER_ALERT) + timedelta(minutes=1)
        remaining = budget_remaining() or settings.gather_timeout_seconds
        evidence.add(
            log_error_evidence(
                readers.logs,
                log_group,
                start=start,
                end=end,
                max_wait_seconds=max(1.0, remaining - QUERY_WAIT_MARGIN_SECONDS),
                region=alert.region,
            )
        )
    return section_from("logs", evidence, started=started)


def _volume_section(
    log_group: str, readers: LogReaders, evidence: Evidence, now: datetime, settings: Settings, alert: Alert,
    started: float,
) -> ContextSection:  # fmt: skip
    """The most repeated lines of the log group, over the last hour (a debug flood shows in minutes)."""
    start = now - timedelta(minutes=settings.logs_query_lookback_minutes)
    remaining = budget_remaining() or settings.gather_timeout_seconds
    evidence.notes = [n for n in evidence.notes if "no log group to search" not in n]
    evidence.add(
        log_volume_evidence(
            readers.logs,
            log_group,
            start=start,
            end=now + timedelta(minutes=1),
            max_wait_seconds=max(1.0, remaining - QUERY_WAIT_MARGIN_SECONDS),
            region=alert.region,
            why="its ingestion grew most",
        )
    )
    return section_from("logs", evidence, started=started)
