"""A metric's recent level against its usual one, read the way an SRE reads a queue or a table's graphs.

`recent` is the mean of the last few periods (what is happening now), `baseline` the median before the incident
window (what is normal), `peak` the highest recent point. The interpreters (queue consumer stall, DynamoDB
throttling) compare those numbers, never a sentence.
"""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta

from pydantic import BaseModel

from functions.shared.adapters.cloudwatch import CloudWatchReader, MetricQuery, MetricSeries

FLOW_LOOKBACK = timedelta(hours=3)
FLOW_PERIOD_SECONDS = 300
# "Now" is the last 15 minutes (three 5-minute periods); "normal" is what came before the last 45 minutes.
RECENT = timedelta(minutes=15)
INCIDENT = timedelta(minutes=45)


class FlowWindow(BaseModel):
    metric: str
    points: int = 0
    baseline: float | None = None
    recent: float | None = None
    peak: float | None = None
    latest: float | None = None


def flow_window(metric: str, series: MetricSeries, now: datetime, *, missing_is_zero: bool = False) -> FlowWindow:
    """Baseline = median before `now - INCIDENT`; recent = mean of the points since `now - RECENT`.

    `missing_is_zero`: a count metric (messages deleted, throttle events) publishes nothing when nothing happened,
    so a series with a baseline but no recent points reads as zero now."""
    pairs = list(zip(series.timestamps, series.values, strict=True))
    window = FlowWindow(metric=metric, points=len(pairs))
    if not pairs:
        return window
    before = [v for t, v in pairs if t < now - INCIDENT]
    recent = [v for t, v in pairs if t >= now - RECENT]
    incident = [v for t, v in pairs if t >= now - INCIDENT]
    window.baseline = statistics.median(before) if before else None
    if recent:
        window.recent = statistics.fmean(recent)
    elif missing_is_zero and before:
        window.recent = 0.0
    window.peak = max(incident) if incident else None
    window.latest = pairs[-1][1] if recent else (0.0 if missing_is_zero and before else None)
    return window


def read_flow(
    cw: CloudWatchReader,
    namespace: str,
    dimensions: dict[str, str],
    metrics: list[tuple[str, str]],
    *,
    now: datetime,
    count_metrics: frozenset[str] = frozenset(),
) -> dict[str, FlowWindow]:
    """The given (metric, statistic) pairs of one resource over the last FLOW_LOOKBACK, in one GetMetricData call.

    Raises:
        GatherThrottledError, AwsReadDeniedError ("cloudwatch:GetMetricData"), AwsReadUnavailableError.
    """
    queries = [
        MetricQuery(
            id=f"flow{i}",
            namespace=namespace,
            metric_name=name,
            dimensions=dimensions,
            stat=stat,
            period_seconds=FLOW_PERIOD_SECONDS,
        )
        for i, (name, stat) in enumerate(metrics)
    ]
    series = cw.metric_data(queries, now - FLOW_LOOKBACK, now + timedelta(minutes=1))
    return {
        query.metric_name: flow_window(
            query.metric_name, series[query.id], now, missing_is_zero=query.metric_name in count_metrics
        )
        for query in queries
    }
