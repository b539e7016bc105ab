"""CloudWatch reads: metric data (GetMetricData) and alarm descriptions, cached five minutes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from functions.shared.adapters.aws import aws_client
from functions.shared.adapters.aws_reads import aws_read
from functions.shared.cache import cache_key, cached

MAX_QUERIES_PER_CALL = 500


class MetricQuery(BaseModel):
    id: str  # lower-case letters, digits and underscores, starting with a letter (GetMetricData's rule)
    namespace: str
    metric_name: str
    dimensions: dict[str, str] = Field(default_factory=dict)
    stat: str = "Sum"
    period_seconds: int = 300

    def request(self, stat: str | None = None) -> dict[str, Any]:
        return {
            "Id": self.id,
            "MetricStat": {
                "Metric": {
                    "Namespace": self.namespace,
                    "MetricName": self.metric_name,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in self.dimensions.items()],
                },
                "Period": self.period_seconds,
                "Stat": stat or self.stat,
            },
            "ReturnData": True,
        }


class MetricSeries(BaseModel):
    """One metric's datapoints, oldest first. `stat` is the statistic actually returned."""

    id: str
    stat: str
    timestamps: list[datetime] = Field(default_factory=list)
    values: list[float] = Field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.values


class CloudWatchReader:
    def __init__(self, client: Any = None, region: str | None = None) -> None:
        self._client = client or aws_client("cloudwatch", region)
        self._region = region

    def metric_data(self, queries: list[MetricQuery], start: datetime, end: datetime) -> dict[str, MetricSeries]:
        """Datapoints of each query over [start, end], by query id.

        Percentile statistics (p99 ...) fall back to Maximum where the backend cannot compute them (the series'
        `stat` then says "Maximum").

        Raises:
            GatherThrottledError, AwsReadDeniedError ("cloudwatch:GetMetricData"), AwsReadUnavailableError.
        """
        key = cache_key("cloudwatch.get_metric_data", self._region, [q.request() for q in queries], start, end)
        return cached(key, lambda: self._fetch(queries, start, end))

    def _fetch(self, queries: list[MetricQuery], start: datetime, end: datetime) -> dict[str, MetricSeries]:
        plain = [q for q in queries if not q.stat.lower().startswith("p")]
        percentiles = [q for q in queries if q.stat.lower().startswith("p")]
        series = self._call(plain, start, end, {})
        if percentiles:
            try:
                series.update(self._call(percentiles, start, end, {}))
            except (TypeError, ValueError):
                # Some backends (moto) cannot serialise percentile results; Maximum is the closest honest stand-in.
                series.update(self._call(percentiles, start, end, {q.id: "Maximum" for q in percentiles}))
        return series

    def _call(
        self, queries: list[MetricQuery], start: datetime, end: datetime, stat_override: dict[str, str]
    ) -> dict[str, MetricSeries]:
        result: dict[str, MetricSeries] = {}
        for offset in range(0, len(queries), MAX_QUERIES_PER_CALL):
            chunk = queries[offset : offset + MAX_QUERIES_PER_CALL]
            token: str | None = None
            for _ in range(10):
                params: dict[str, Any] = {
                    "MetricDataQueries": [q.request(stat_override.get(q.id)) for q in chunk],
                    "StartTime": start,
                    "EndTime": end,
                    "ScanBy": "TimestampAscending",
                }
                if token:
                    params["NextToken"] = token
                response = aws_read("cloudwatch:GetMetricData", self._client.get_metric_data, **params)
                for item in response.get("MetricDataResults", []):
                    query_id = item["Id"]
                    stat = stat_override.get(query_id) or next(q.stat for q in chunk if q.id == query_id)
                    current = result.setdefault(query_id, MetricSeries(id=query_id, stat=stat))
                    pairs = zip(item.get("Timestamps", []), item.get("Values", []), strict=False)
                    for at, value in pairs:
                        if value is not None:
                            current.timestamps.append(at)
                            current.values.append(float(value))
                token = response.get("NextToken")
                if not token:
                    break
        for current in result.values():
            ordered = sorted(zip(current.timestamps, current.values, strict=True), key=lambda p: p[0])
            current.timestamps = [at for at, _ in ordered]
            current.values = [value for _, value in ordered]
        for query in queries:
            result.setdefault(query.id, MetricSeries(id=query.id, stat=stat_override.get(query.id, query.stat)))
        return result

    def alarm(self, alarm_name: str) -> dict[str, Any] | None:
        """The alarm's description (metric, threshold, state), or None when it does not exist.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("cloudwatch:DescribeAlarms"), AwsReadUnavailableError.
        """
        response = aws_read(
            "cloudwatch:DescribeAlarms",
            self._client.describe_alarms,
            AlarmNames=[alarm_name],
            AlarmTypes=["MetricAlarm", "CompositeAlarm"],
        )
        alarms = response.get("MetricAlarms", []) + response.get("CompositeAlarms", [])
        return alarms[0] if alarms else None
