"""Detectors for alarms no specific playbook explains: honest answers instead of another type's playbook.

- `unregistered_resource`: the alarm's namespace has no registered resource type (SNS, Firehose, EventBridge,
  CloudFront, a custom namespace). The compute stage said so (`compute.unregistered_resource`) and
  read the other metrics CloudWatch publishes for the alarm's dimensions (`compute.companion_summary`). The root
  cause names the metric, the resource and what moved with it, and says plainly that the cause is not
  established; the commands graph the metric and list its companions.
- `uninterpreted_metric`: a registered type's alarm that no specific detector explained (RDS ReplicaLag, DynamoDB
  SystemErrors). The type's investigation ran, its related metrics were read and, for a metric they do not
  include, its companions too; the answer says which of them moved with the alarm's metric and which stayed
  steady, rather than "the gathered context does not show why".
- `region_wide_metric`: an alarm without dimensions (Lambda ConcurrentExecutions for the whole region) watches a
  region, not a resource: the answer blames no resource, and its commands list the metric's per-resource series.

The package's entry point (`functions/analyze/rules/__init__.py`) runs them after every specific detector
(passing the facts' lookup); this module imports nothing of it, only the shared readers of `facts`. Every command
is built by `functions.shared.aws_commands.build_command`, and a dimension that is not a plain name or id yields no
command.
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta

from functions.analyze.rules.facts import FactLookup, Finding, alert_region, as_clause
from functions.shared.alert_details import CloudWatchAlarmDetails
from functions.shared.aws_commands import BuiltCommand, ValueKind, build_command, opt
from functions.shared.investigate.base import MOVED_PERCENT, change_words
from functions.shared.investigate.target import target_of_dimensions
from functions.shared.models import Alert, Fact
from functions.shared.registry import resource_type

# A dimension name or value that may go into `Name=...,Value=...` shorthand: no separator of the shorthand itself.
_PLAIN = re.compile(r"[A-Za-z0-9_.:/@+#-]{1,255}")
_NAMESPACE = re.compile(r"[A-Za-z0-9_.:/#-]{1,255}")
_STANDARD_STATISTICS = {"Average", "Sum", "Maximum", "Minimum", "SampleCount"}
METRIC_WINDOW_BEFORE = timedelta(hours=3)
METRIC_WINDOW_AFTER = timedelta(minutes=30)


def _alarm(alert: Alert) -> CloudWatchAlarmDetails | None:
    return alert.details_of(CloudWatchAlarmDetails)


def _metric_clause(get: FactLookup) -> str:
    fact = get("compute.alarm_metric")
    return f": {as_clause(fact.text.replace('Alarm metric ', ''))}" if fact is not None else ""


def _companions_clause(get: FactLookup) -> str:
    summary = get("compute.companion_summary")
    return f"; {as_clause(summary.text)}" if summary is not None else ""


def _shorthand_dimensions(dimensions: dict[str, str]) -> list[str] | None:
    """`Name=K,Value=V` per dimension ([] for none), or None when a name or value could break out of the shorthand."""
    if not all(_PLAIN.fullmatch(k) and _PLAIN.fullmatch(v) for k, v in dimensions.items()):
        return None
    return [f"Name={name},Value={value}" for name, value in dimensions.items()]


def metric_diagnostics(alert: Alert) -> list[BuiltCommand]:
    """The alarm's metric around the breach (get-metric-statistics) and the resource's other metrics
    (list-metrics), for any namespace; nothing when a value is not a plain name."""
    alarm = _alarm(alert)
    if alarm is None or not alarm.namespace or not alarm.metric_name or not _NAMESPACE.fullmatch(alarm.namespace):
        return []
    named = _shorthand_dimensions(dict(alarm.dimensions or {}))
    if named is None:
        return []
    region = alert_region(alert)
    dimensions = [opt("--dimensions", named, ValueKind.SHORTHAND)] if named else []
    # With dimensions: the resource's other metrics. Without (a region-wide metric): the metric's per-resource series.
    listing = dimensions or [opt("--metric-name", alarm.metric_name)]
    commands = [
        build_command(
            "cloudwatch",
            "list-metrics",
            opt("--namespace", alarm.namespace, ValueKind.SHORTHAND),
            *listing,
            region=region,
        )
    ]
    moment = alert.occurred_at
    if moment is not None:
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        statistic = str(alarm.statistic or "Maximum")
        statistic = next((s for s in _STANDARD_STATISTICS if s.lower() == statistic.lower()), "Maximum")
        period = max(60, int(alarm.period_seconds or 300))
        commands.insert(
            0,
            build_command(
                "cloudwatch",
                "get-metric-statistics",
                opt("--namespace", alarm.namespace, ValueKind.SHORTHAND),
                opt("--metric-name", alarm.metric_name),
                *dimensions,
                opt("--start-time", (moment - METRIC_WINDOW_BEFORE).strftime("%Y-%m-%dT%H:%M:%SZ")),
                opt("--end-time", (moment + METRIC_WINDOW_AFTER).strftime("%Y-%m-%dT%H:%M:%SZ")),
                opt("--period", period, ValueKind.INTEGER),
                opt("--statistics", [statistic]),
                region=region,
            ),
        )
    return commands


def _service(namespace: str) -> str:
    """`AWS/Kinesis` -> `Kinesis`; a custom namespace as it is."""
    return namespace.removeprefix("AWS/") or namespace


def unregistered_resource(alert: Alert, get: FactLookup) -> Finding | None:
    fact: Fact | None = get("compute.unregistered_resource")
    alarm = _alarm(alert)
    if fact is None or alarm is None:
        return None
    namespace = str(fact.value or alarm.namespace or "")
    name = fact.subject or (alert.resource.name if alert.resource else "") or "the resource"
    metric = alarm.metric_name or alert.alert_type
    sentence = f"{metric} on {_service(namespace)} {name} breached its threshold{_metric_clause(get)}"
    sentence += _companions_clause(get)
    sentence += (
        f". {namespace} is not a resource type alert-intel investigates yet, so only its metrics were read and the "
        "cause is not established."
    )
    return Finding(
        root_cause=sentence,
        confidence="low",
        evidence_keys=["compute.alarm_metric", "compute.unregistered_resource", "compute.companion_summary"],
        recommendations=[
            f"Open {name} in the {_service(namespace)} console and read its own logs or events around the breach: "
            "alert-intel read only its CloudWatch metrics.",
            f"Compare {metric} with {name}'s other metrics (the commands below) to see which moved first.",
            f"If {name} itself looks healthy, look at what feeds it or consumes it.",
        ],
        diagnostics=metric_diagnostics(alert),
    )


def _related_clause(alert: Alert, get: FactLookup) -> tuple[str, list[str]]:
    """The registered type's related metrics as read around the breach: which moved with the alarm's metric, which
    stayed steady; and the moved metrics' names."""
    alarm = _alarm(alert)
    if alarm is None or not alarm.namespace:
        return "", []
    target = target_of_dimensions(alarm.namespace, dict(alarm.dimensions or {}), alert.region)
    if target is None:
        return "", []
    moved: list[str] = []
    steady: list[str] = []
    for name, _ in resource_type(target.kind).related_metrics:
        fact = get(f"compute.metric.{name}")
        if fact is None or name == alarm.metric_name:
            continue
        if _moved(fact):
            moved.append(f"{name} ({change_words(fact)})")
        else:
            steady.append(name)
    parts = []
    if moved:
        parts.append("alongside it " + ", ".join(moved) + " moved")
    if steady:
        parts.append("steady: " + ", ".join(steady))
    return ("; " + "; ".join(parts)) if parts else "", [m.split(" (")[0] for m in moved]


def _moved(fact: Fact) -> bool:
    numbers = fact.numbers
    if numbers is None or numbers.value is None:
        return False
    if numbers.change_pct is not None:
        return abs(numbers.change_pct) >= MOVED_PERCENT
    return numbers.baseline == 0 and numbers.value > 0


def uninterpreted_metric(alert: Alert, get: FactLookup) -> Finding | None:
    """A registered type's alarm no specific detector explained: what moved with its metric, not an invented cause."""
    alarm = _alarm(alert)
    if alarm is None or get("compute.unregistered_resource") is not None or get("compute.alarm_metric") is None:
        return None
    related, movers = _related_clause(alert, get)
    summary = get("compute.companion_summary")
    if not related and summary is None:
        return None
    metric = alarm.metric_name or alert.alert_type
    name = alert.resource.name if alert.resource and alert.resource.name else "the affected resource"
    sentence = f"{metric} on {name} breached its threshold{_metric_clause(get)}{related}{_companions_clause(get)}"
    sentence += f". No rule of alert-intel explains {metric} here: this shows what moved with it, not why."
    if summary is not None and summary.subject:
        movers += summary.subject.split(", ")
    first = (
        f"Compare {metric} with {', '.join(movers[:3])} around the breach to see which moved first."
        if movers
        else f"Nothing else read on {name} moved with {metric}: look at what calls it or what it depends on."
    )
    return Finding(
        root_cause=sentence,
        confidence="low",
        evidence_keys=["compute.alarm_metric", "compute.companion_summary"],
        recommendations=[
            first,
            "Check whether a recent deploy, configuration change or load change lines up with the breach.",
        ],
        diagnostics=metric_diagnostics(alert),
    )


def region_wide_metric(alert: Alert, get: FactLookup) -> Finding | None:
    """An alarm on a metric with no dimensions (account-level Lambda ConcurrentExecutions): it watches a whole
    region, so no one resource is to blame."""
    alarm = _alarm(alert)
    if alarm is None or alarm.dimensions or not alarm.namespace or not alarm.metric_name:
        return None
    if alarm.alarm_kind not in (None, "metric") or get("compute.alarm_metric") is None:
        return None
    metric = alarm.metric_name
    sentence = (
        f"{metric} across all of {alarm.namespace} in {alert_region(alert)} breached its threshold{_metric_clause(get)}"
        ". The alarm has no dimensions: it watches the whole region, not one resource, so no resource was investigated."
    )
    return Finding(
        root_cause=sentence,
        confidence="low",
        evidence_keys=["compute.alarm_metric"],
        recommendations=[
            f"Find which resources drive {metric}: list its per-resource series (list-metrics below) and graph the "
            "largest.",
            "Check whether a regional quota is close (Service Quotas) if the metric counts usage against one.",
        ],
        diagnostics=metric_diagnostics(alert),
    )


DETECTORS = (unregistered_resource, region_wide_metric, uninterpreted_metric)
