"""CloudWatch Logs reads: log group lookup and bounded Logs Insights queries."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from functions.shared.adapters.aws import aws_client
from functions.shared.adapters.aws_reads import aws_read
from functions.shared.cache import cache_key, cached
from functions.shared.errors import AlertIntelError

_STATUSES = {"Complete", "Failed", "Cancelled", "Timeout", "Unknown", "Running", "Scheduled"}


class InsightsResult(BaseModel):
    status: Literal["Complete", "Failed", "Cancelled", "Timeout", "Unknown", "Running", "Scheduled", "TimedOutHere"]
    rows: list[dict[str, str]] = Field(default_factory=list)
    records_matched: float | None = None
    records_scanned: float | None = None

    @property
    def complete(self) -> bool:
        return self.status == "Complete"


class LogsReader:
    def __init__(
        self,
        client: Any = None,
        region: str | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client or aws_client("logs", region)
        self._region = region
        self._sleep = sleep
        self._clock = clock

    def log_group_exists(self, name: str) -> bool:
        """Whether the log group exists.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("logs:DescribeLogGroups"), AwsReadUnavailableError.
        """
        response = aws_read(
            "logs:DescribeLogGroups", self._client.describe_log_groups, logGroupNamePrefix=name, limit=5
        )
        return any(group.get("logGroupName") == name for group in response.get("logGroups", []))

    def insights_query(
        self,
        log_groups: list[str],
        query: str,
        start: datetime,
        end: datetime,
        *,
        max_wait_seconds: float,
        poll_seconds: float = 0.5,
    ) -> InsightsResult:
        """Run a Logs Insights query and wait for it at most `max_wait_seconds`.

        A query still running at the deadline is stopped and its partial rows returned (status "TimedOutHere").

        Raises:
            GatherThrottledError (incl. too many concurrent queries), AwsReadDeniedError ("logs:StartQuery" /
            "logs:GetQueryResults"), AwsReadUnavailableError (e.g. the log group does not exist).
        """
        key = cache_key("logs.insights", self._region, log_groups, query, int(start.timestamp()), int(end.timestamp()))
        return cached(key, lambda: self._run(log_groups, query, start, end, max_wait_seconds, poll_seconds))

    def _run(
        self,
        log_groups: list[str],
        query: str,
        start: datetime,
        end: datetime,
        max_wait_seconds: float,
        poll_seconds: float,
    ) -> InsightsResult:
        deadline = self._clock() + max_wait_seconds
        query_id = aws_read(
            "logs:StartQuery",
            self._client.start_query,
            logGroupNames=log_groups,
            startTime=int(start.timestamp()),
            endTime=int(end.timestamp()),
            queryString=query,
            limit=1000,
        )["queryId"]
        while True:
            response = aws_read("logs:GetQueryResults", self._client.get_query_results, queryId=query_id)
            status = response.get("status", "Unknown")
            if status not in ("Running", "Scheduled") or self._clock() >= deadline:
                break
            self._sleep(poll_seconds)
        if status in ("Running", "Scheduled"):
            self._stop(query_id)
            status = "TimedOutHere"
        statistics = response.get("statistics", {})
        rows = [{f["field"]: f.get("value", "") for f in row if "field" in f} for row in response.get("results", [])]
        return InsightsResult(
            status=status if status in _STATUSES else "Unknown",
            rows=rows,
            records_matched=statistics.get("recordsMatched"),
            records_scanned=statistics.get("recordsScanned"),
        )

    def _stop(self, query_id: str) -> None:
        # Best effort: the partial rows are still useful if stopping fails.
        with contextlib.suppress(AlertIntelError):
            aws_read("logs:StopQuery", self._client.stop_query, queryId=query_id)
