"""Cost Explorer reads (GetCostAndUsage), cached five minutes: Cost Explorer bills every request."""

from __future__ import annotations

from typing import Any

from functions.shared.adapters.aws import aws_client
from functions.shared.adapters.aws_reads import aws_read
from functions.shared.cache import cache_key, cached
from functions.shared.investigate.cost_plan import CostQuery

_MAX_PAGES = 5


class CostExplorerReader:
    def __init__(self, client: Any = None) -> None:
        # Cost Explorer's only endpoint is us-east-1.
        self._client = client or aws_client("ce", "us-east-1")

    def cost_and_usage(self, query: CostQuery) -> list[dict[str, Any]]:
        """All `ResultsByTime` entries of one query (up to five pages).

        Raises:
            GatherThrottledError, AwsReadDeniedError ("ce:GetCostAndUsage"), AwsReadUnavailableError.
        """
        return cached(cache_key("ce.get_cost_and_usage", query.request()), lambda: self._fetch(query))

    def _fetch(self, query: CostQuery) -> list[dict[str, Any]]:
        params = query.request()
        results: list[dict[str, Any]] = []
        for _ in range(_MAX_PAGES):
            page = aws_read("ce:GetCostAndUsage", self._client.get_cost_and_usage, **params)
            results.extend(page.get("ResultsByTime", []))
            token = page.get("NextPageToken")
            if not token:
                break
            params = {**params, "NextPageToken": token}
        return results
