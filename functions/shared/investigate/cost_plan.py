"""The Cost Explorer queries the cost playbook makes, in order: the one place that order is defined.

Cost Explorer bills per request, and in local runs moto answers each distinct request from a queue in arrival
order (see `functions.local_runner.seed`), so the cost playbook issues exactly these queries, in exactly this
order, and the seeder queues one result per query from this same plan.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal

from pydantic import BaseModel

COST_WINDOW_DAYS = 14
COST_METRIC = "UnblendedCost"


class CostQuery(BaseModel):
    """One GetCostAndUsage request: [start, end) in days, end exclusive, as Cost Explorer counts."""

    purpose: Literal["daily_by_service", "daily_by_usage_type", "month_to_date"]
    start: date
    end: date
    granularity: Literal["DAILY", "MONTHLY"]
    group_by: tuple[str, ...] = ()
    metric: str = COST_METRIC

    def request(self) -> dict[str, Any]:
        """The exact keyword arguments for `ce.get_cost_and_usage`."""
        params: dict[str, Any] = {
            "TimePeriod": {"Start": self.start.isoformat(), "End": self.end.isoformat()},
            "Granularity": self.granularity,
            "Metrics": [self.metric],
        }
        if self.group_by:
            params["GroupBy"] = [{"Type": "DIMENSION", "Key": key} for key in self.group_by]
        return params


def cost_query_plan(today: date) -> list[CostQuery]:
    """The queries, in order: 14 complete days by service, the same by service and usage type, month to date.

    The window ends yesterday (today's costs are still arriving). The month-to-date query is left out on the 1st
    of the month, when the month has no complete day yet.
    """
    start = today - timedelta(days=COST_WINDOW_DAYS)
    plan = [
        CostQuery(purpose="daily_by_service", start=start, end=today, granularity="DAILY", group_by=("SERVICE",)),
        CostQuery(
            purpose="daily_by_usage_type",
            start=start,
            end=today,
            granularity="DAILY",
            group_by=("SERVICE", "USAGE_TYPE"),
        ),
    ]
    month_start = today.replace(day=1)
    if month_start < today:
        plan.append(CostQuery(purpose="month_to_date", start=month_start, end=today, granularity="MONTHLY"))
    return plan
