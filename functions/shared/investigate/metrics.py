"""Metric evidence: an alarm's metric around its breach, a resource's related metrics, and Lambda movers."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta

from pydantic import BaseModel

from functions.shared import console_links
from functions.shared.adapters.cloudwatch import CloudWatchReader, MetricQuery, MetricSeries
from functions.shared.adapters.compute import LambdaReader
from functions.shared.investigate.base import Evidence, hhmm, number, percent_change, signed_percent, when
from functions.shared.investigate.target import AlarmMetric, Target, TargetKind
from functions.shared.models import Fact, Measurement
from functions.shared.registry import RESOURCE_TYPES

# What an expert graphs next to the alarm, per resource kind: (metric, statistic), most telling first (registered
# per resource type in `functions.shared.registry`).
RELATED_METRICS: dict[TargetKind, list[tuple[str, str]]] = {
    spec.kind: list(spec.related_metrics) for spec in RESOURCE_TYPES if spec.namespace is not None
}


class MetricWindow(BaseModel):
    """A metric around a moment: its usual level before, its peak and latest value after."""

    namespace: str
    metric_name: str
    stat: str
    period_seconds: int
    points: int
    baseline: float | None = None  # median of the points before `at`
    peak: float | None = None  # max of the points from `at - recent` on
    peak_at: datetime | None = None
    latest: float | None = None
    change_percent: float | None = None  # peak vs baseline

    @property
    def has_data(self) -> bool:
        return self.points > 0

    def describe(self) -> str:
        label = f"{self.metric_name} ({self.stat}/{_period_words(self.period_seconds)})"
        if not self.has_data or self.peak is None:
            return f"{label}: no datapoints"
        text = f"{label}: peak {number(self.peak)}"
        if self.peak_at is not None:
            text += f" at {when(self.peak_at)}"
        if self.baseline is not None:
            text += f" vs baseline {number(self.baseline)}"
            if self.change_percent is not None:
                text += f" ({signed_percent(self.change_percent)})"
            elif self.peak > 0:
                text += " (from zero)"
        if self.latest is not None and self.latest != self.peak:
            text += f", now {number(self.latest)}"
            if self.drop_percent is not None:
                text += f" ({signed_percent(self.drop_percent)} vs baseline)"
        return text

    def measurement(self, threshold: float | None = None, crossed: bool | None = None) -> Measurement:
        """The numbers `describe` puts into words: peak, baseline, change, latest, per period."""
        return Measurement(
            value=self.peak,
            baseline=self.baseline,
            window=_period_words(self.period_seconds),
            change_pct=self.change_percent,
            latest=self.latest if self.latest != self.peak else None,
            threshold=threshold,
            crossed=crossed,
        )

    @property
    def drop_percent(self) -> float | None:
        """The latest value's change from the baseline when it fell by half or more (a stalled resource)."""
        if self.latest is None or not self.baseline:
            return None
        change = percent_change(self.latest, self.baseline)
        return change if change is not None and change <= -50 else None


def _period_words(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def summarize(
    series: MetricSeries, namespace: str, metric_name: str, period_seconds: int, at: datetime, recent: timedelta
) -> MetricWindow:
    """Baseline = median before `at - recent`; peak = max from `at - recent` on (or of everything if none)."""
    split = at - recent
    before = [v for t, v in zip(series.timestamps, series.values, strict=True) if t < split]
    after = [(t, v) for t, v in zip(series.timestamps, series.values, strict=True) if t >= split]
    window = MetricWindow(
        namespace=namespace,
        metric_name=metric_name,
        stat=series.stat,
        period_seconds=period_seconds,
        points=len(series.values),
    )
    if not series.values:
        return window
    pool = after or list(zip(series.timestamps, series.values, strict=True))
    peak_at, peak = max(pool, key=lambda p: (p[1], p[0]))  # the latest of equal peaks
    window.peak, window.peak_at = peak, peak_at
    window.latest = series.values[-1]
    if before:
        window.baseline = statistics.median(before)
        window.change_percent = percent_change(peak, window.baseline)
    return window


def _window_end(at: datetime, after: timedelta, now: datetime) -> datetime:
    """`after` past the moment, but not beyond now; plus a minute so the newest datapoint is never cut off."""
    return min(now, at + after) + timedelta(minutes=1)


def _query_id(index: int, metric_name: str) -> str:
    return f"m{index}_" + "".join(c.lower() if c.isalnum() else "_" for c in metric_name)[:40]


def alarm_metric_evidence(
    cw: CloudWatchReader,
    metric: AlarmMetric,
    *,
    at: datetime,
    now: datetime,
    region: str | None,
    before: timedelta = timedelta(hours=3),
    after: timedelta = timedelta(minutes=30),
) -> tuple[Evidence, MetricWindow | None]:
    """The alarm's own metric from `before` the breach to `after` it: peak vs baseline, and the threshold."""
    evidence = Evidence()
    start, end = at - before, _window_end(at, after, now)
    evidence.looked_at.append(f"CloudWatch {metric.namespace} {metric.metric_name} {hhmm(start)} to {hhmm(end)} UTC")
    query = MetricQuery(
        id="alarm_metric",
        namespace=metric.namespace,
        metric_name=metric.metric_name,
        dimensions=metric.dimensions,
        stat=metric.stat,
        period_seconds=metric.period_seconds,
    )
    series = evidence.read(f"metric {metric.metric_name}", lambda: cw.metric_data([query], start, end))
    if series is None:
        return evidence, None
    recent = timedelta(seconds=max(metric.period_seconds * 3, 900))
    window = summarize(series["alarm_metric"], metric.namespace, metric.metric_name, metric.period_seconds, at, recent)
    link = console_links.metric_graph_url(
        metric.namespace,
        metric.metric_name,
        metric.dimensions,
        region,
        stat=metric.stat,
        period_seconds=metric.period_seconds,
        start=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        end=end.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    if not window.has_data:
        evidence.notes.append(f"The alarm's metric {metric.metric_name} has no datapoints around the breach.")
        return evidence, window
    text = "Alarm metric " + window.describe()
    crossed = None
    if metric.threshold is not None:
        text += f"; threshold {number(metric.threshold)}"
        if window.peak is not None:
            crossed = _crosses(window.peak, metric.threshold, metric.comparison)
            if crossed is False:
                text += " (not crossed in this window)"
    ratio = (window.peak / window.baseline) if window.baseline and window.peak is not None else None
    evidence.facts.append(
        Fact(
            key="compute.alarm_metric",
            text=text,
            value=round(ratio, 2) if ratio is not None else None,
            link=link,
            subject=metric.metric_name,
            numbers=window.measurement(metric.threshold, crossed),
        )
    )
    return evidence, window


def _crosses(value: float, threshold: float, comparison: str | None) -> bool | None:
    comparison = (comparison or "").lower()
    if "greaterthanorequal" in comparison:
        return value >= threshold
    if "greaterthan" in comparison:
        return value > threshold
    if "lessthanorequal" in comparison:
        return value <= threshold
    if "lessthan" in comparison:
        return value < threshold
    return None


def related_metrics_evidence(
    cw: CloudWatchReader,
    target: Target,
    *,
    at: datetime,
    now: datetime,
    before: timedelta,
    after: timedelta,
    period_seconds: int,
    skip: str | None = None,
) -> tuple[Evidence, dict[str, MetricWindow]]:
    """The resource's related metrics in one GetMetricData call, each as peak vs baseline.

    Metrics without datapoints are listed in one note, not as facts. `skip` leaves out the alarm's own metric.
    """
    evidence = Evidence()
    start, end = at - before, _window_end(at, after, now)
    chosen = [(name, stat) for name, stat in RELATED_METRICS[target.kind] if name != skip]
    queries = [
        MetricQuery(
            id=_query_id(i, name),
            namespace=target.namespace,
            metric_name=name,
            dimensions=target.dimensions,
            stat=stat,
            period_seconds=period_seconds,
        )
        for i, (name, stat) in enumerate(chosen)
    ]
    evidence.looked_at.append(
        f"CloudWatch {target.namespace} {', '.join(n for n, _ in chosen)} for {target.name}, "
        f"{hhmm(start)} to {hhmm(end)} UTC"
    )
    series = evidence.read(f"{target.namespace} metrics of {target.name}", lambda: cw.metric_data(queries, start, end))
    windows: dict[str, MetricWindow] = {}
    if series is None:
        return evidence, windows
    recent = max(after, timedelta(seconds=period_seconds * 3)) if after > timedelta(0) else before / 2
    empty = []
    for query in queries:
        window = summarize(series[query.id], target.namespace, query.metric_name, period_seconds, at, recent)
        windows[query.metric_name] = window
        if not window.has_data:
            empty.append(query.metric_name)
            continue
        evidence.facts.append(
            Fact(
                key=f"compute.metric.{query.metric_name}",
                text=window.describe(),
                value=window.peak,
                subject=query.metric_name,
                numbers=window.measurement(),
                link=console_links.metric_graph_url(
                    target.namespace,
                    query.metric_name,
                    target.dimensions,
                    target.region,
                    stat=series[query.id].stat,
                    period_seconds=period_seconds,
                    start=f"-PT{int((now - start).total_seconds() // 3600) + 1}H",
                ),
            )
        )
    if empty:
        evidence.notes.append(f"No datapoints for {target.name}: {', '.join(empty)}.")
    # The metrics that moved most first: the section is capped and the prompt trims from the end.
    moved = {name: _movement(window) for name, window in windows.items()}
    evidence.facts.sort(key=lambda f: -moved.get(f.key.removeprefix("compute.metric."), 0.0))
    return evidence, windows


def _movement(window: MetricWindow) -> float:
    """How far the peak left the baseline: relative change, with a rise from zero ranked above any percentage."""
    if window.peak is None:
        return 0.0
    drop = abs(window.drop_percent or 0.0)
    if window.change_percent is not None:
        return max(abs(window.change_percent), drop)
    return float("inf") if window.peak > 0 else drop


class LambdaMover(BaseModel):
    function_name: str
    last_24h: float
    previous_24h: float

    @property
    def change_percent(self) -> float | None:
        return percent_change(self.last_24h, self.previous_24h)


def lambda_movers(cw: CloudWatchReader, lambdas: LambdaReader, *, now: datetime, limit: int = 50) -> list[LambdaMover]:
    """Functions whose invocations grew most: last 24 hours vs the 24 hours before (largest absolute growth first).

    Raises:
        GatherThrottledError, AwsReadDeniedError, AwsReadUnavailableError (from the reads it makes).
    """
    names = lambdas.function_names(limit)
    if not names:
        return []
    queries = [
        MetricQuery(
            id=f"f{i}",
            namespace="AWS/Lambda",
            metric_name="Invocations",
            dimensions={"FunctionName": name},
            stat="Sum",
            period_seconds=3600,
        )
        for i, name in enumerate(names)
    ]
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    series = cw.metric_data(queries, end - timedelta(hours=48), end)
    split = end - timedelta(hours=24)
    movers = []
    for query, name in zip(queries, names, strict=True):
        points = series[query.id]
        recent = sum(v for t, v in zip(points.timestamps, points.values, strict=True) if t >= split)
        previous = sum(v for t, v in zip(points.timestamps, points.values, strict=True) if t < split)
        if recent or previous:
            movers.append(LambdaMover(function_name=name, last_24h=recent, previous_24h=previous))
    movers.sort(key=lambda m: m.last_24h - m.previous_24h, reverse=True)
    return movers
