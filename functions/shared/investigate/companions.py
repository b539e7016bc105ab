"""What an alarm's metric has beside it when no interpreter knows it.

Two cases reach here. An alarm in a namespace of no registered type (SNS, Firehose, EventBridge, CloudFront,
a custom namespace): there is no playbook, so the honest answer is the metric, its dimensions, the
other metrics CloudWatch publishes for the same dimensions and a plain "not a resource type we investigate yet".
And an alarm on a registered type's metric that is not among its related metrics (RDS ReplicaLag, DynamoDB
SystemErrors): the type's own investigation runs, and the resource's other published metrics are read too, since
the related metrics were chosen for other failure modes.

The companions are found with ListMetrics (the exact dimension set of the alarm) and read in one GetMetricData
call; each becomes a `compute.companion.<Metric>` fact with its numbers, the ones that moved most first.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from functions.shared import console_links
from functions.shared.adapters.cloudwatch import CloudWatchReader, MetricQuery
from functions.shared.adapters.cost_resources import MetricCatalogReader
from functions.shared.investigate.base import MOVED_PERCENT, Evidence, change_words
from functions.shared.investigate.metrics import MetricWindow, summarize
from functions.shared.investigate.target import AlarmMetric
from functions.shared.models import Fact

MAX_COMPANIONS_READ = 12  # GetMetricData queries in the one call
MAX_COMPANION_FACTS = 5  # the ones that moved most; the section is capped anyway

# A metric whose name says it counts events is summed per period; anything else (a rate, a latency, an age, a
# percentage, a level) is averaged. The statistic is part of every fact's text, so the reader sees which.
_COUNT_LIKE = re.compile(
    r"(Count|Errors?|Faults?|Invocations|Requests|Records|Bytes|Messages|Notifications|Evictions|Throttle|Events|"
    r"Failures?|Failed|Hits|Misses|Deliver)",
)


def statistic_for(metric_name: str) -> str:
    return "Sum" if _COUNT_LIKE.search(metric_name) else "Average"


def dimensions_text(dimensions: dict[str, str]) -> str:
    return ", ".join(f"{name}={value}" for name, value in dimensions.items()) or "no dimensions"


def _alarm_metric_graph(metric: AlarmMetric, region: str | None) -> str:
    return console_links.metric_graph_url(
        metric.namespace,
        metric.metric_name,
        metric.dimensions,
        region,
        stat=metric.stat,
        period_seconds=metric.period_seconds,
    )


def unregistered_resource_fact(metric: AlarmMetric, region: str | None = None) -> Fact:
    """The plain statement that the alarm's namespace has no registered type: no configuration, neighbours or
    logs were read. Its subject is the value of the alarm's first dimension (the one that names the resource)."""
    name = next(iter(metric.dimensions.values()), None)
    return Fact(
        key="compute.unregistered_resource",
        text=(
            f"{metric.namespace} ({dimensions_text(metric.dimensions)}) is not a resource type alert-intel "
            "investigates yet: only its CloudWatch metrics were read, not its configuration, neighbours or logs"
        ),
        value=metric.namespace,
        subject=name,
        link=_alarm_metric_graph(metric, region),
    )


def _movement(window: MetricWindow) -> float:
    if window.peak is None:
        return 0.0
    if window.change_percent is not None:
        return abs(window.change_percent)
    return float("inf") if window.peak > 0 else 0.0


def companion_metrics_evidence(
    cw: CloudWatchReader,
    catalog: MetricCatalogReader,
    metric: AlarmMetric,
    *,
    at: datetime,
    now: datetime,
    region: str | None,
    before: timedelta,
    after: timedelta,
    skip: frozenset[str] = frozenset(),
) -> Evidence:
    """The other metrics published for the alarm's exact dimensions, each as peak vs baseline around the breach."""
    evidence = Evidence()
    if not metric.dimensions:
        return evidence
    names = evidence.read(
        f"the {metric.namespace} metrics of {dimensions_text(metric.dimensions)}",
        lambda: catalog.metric_names(metric.namespace, metric.dimensions),
    )
    if names is None:
        return evidence
    chosen = [n for n in names if n != metric.metric_name and n not in skip][:MAX_COMPANIONS_READ]
    evidence.looked_at.append(
        f"CloudWatch ListMetrics {metric.namespace} for {dimensions_text(metric.dimensions)}: "
        + (", ".join(chosen) if chosen else "no other metric")
    )
    if not chosen:
        return evidence
    start, end = at - before, min(now, at + after) + timedelta(minutes=1)
    queries = [
        MetricQuery(
            id=f"c{i}",
            namespace=metric.namespace,
            metric_name=name,
            dimensions=metric.dimensions,
            stat=statistic_for(name),
            period_seconds=metric.period_seconds,
        )
        for i, name in enumerate(chosen)
    ]
    series = evidence.read("the companion metrics", lambda: cw.metric_data(queries, start, end))
    if series is None:
        return evidence
    recent = timedelta(seconds=max(metric.period_seconds * 3, 900))
    found: list[tuple[float, Fact]] = []
    for query in queries:
        window = summarize(series[query.id], metric.namespace, query.metric_name, metric.period_seconds, at, recent)
        if not window.has_data:
            continue
        fact = Fact(
            key=f"compute.companion.{query.metric_name}",
            text=window.describe(),
            value=window.peak,
            subject=query.metric_name,
            numbers=window.measurement(),
            link=console_links.metric_graph_url(
                metric.namespace,
                query.metric_name,
                metric.dimensions,
                region,
                stat=series[query.id].stat,
                period_seconds=metric.period_seconds,
                start=f"-PT{int((now - start).total_seconds() // 3600) + 1}H",
            ),
        )
        found.append((_movement(window), fact))
    found.sort(key=lambda pair: -pair[0])
    kept = found[:MAX_COMPANION_FACTS]
    if not kept:
        evidence.notes.append(f"No datapoints for the other {metric.namespace} metrics of this resource.")
        return evidence
    evidence.facts.append(_summary_fact(metric, kept, region))
    evidence.facts.extend(fact for _, fact in kept)
    return evidence


def _summary_fact(metric: AlarmMetric, kept: list[tuple[float, Fact]], region: str | None) -> Fact:
    """One line for the analysis: which of the resource's other metrics moved with the alarm's, which did not."""
    moved = [fact for movement, fact in kept if movement >= MOVED_PERCENT]
    flat = [fact.subject or "" for movement, fact in kept if movement < MOVED_PERCENT]
    parts = []
    if moved:
        parts.append("moved with it: " + ", ".join(f"{fact.subject} ({change_words(fact)})" for fact in moved))
    if flat:
        parts.append("steady: " + ", ".join(flat))
    return Fact(
        key="compute.companion_summary",
        text=f"Other {metric.namespace} metrics of {dimensions_text(metric.dimensions)}: " + "; ".join(parts),
        value=len(moved),
        subject=", ".join(fact.subject or "" for fact in moved) or None,
        # The most moved companion's graph (each companion fact links its own).
        link=kept[0][1].link,
    )


def unregistered_resource_evidence(
    cw: CloudWatchReader,
    catalog: MetricCatalogReader,
    metric: AlarmMetric,
    *,
    at: datetime,
    now: datetime,
    region: str | None,
    before: timedelta,
    after: timedelta,
) -> Evidence:
    """An alarm on a namespace of no registered type: the statement that it is not investigated, then its
    companion metrics."""
    evidence = Evidence()
    evidence.facts.append(unregistered_resource_fact(metric, region))
    evidence.looked_at.append(f"{metric.namespace}: not a resource type alert-intel investigates yet")
    return evidence.add(
        companion_metrics_evidence(cw, catalog, metric, at=at, now=now, region=region, before=before, after=after)
    )


__all__ = [
    "change_words",
    "companion_metrics_evidence",
    "dimensions_text",
    "statistic_for",
    "unregistered_resource_evidence",
    "unregistered_resource_fact",
]
