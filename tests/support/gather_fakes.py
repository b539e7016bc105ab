"""In-memory stand-ins for the gather stages' read adapters, with the same method signatures.

Each fake can be told to fail a call with one of the errors the real adapters raise, so tests cover denied,
throttled and unavailable reads without a network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from functions.local_runner.seed import CostSeed, cost_results
from functions.shared.adapters.budgets import BudgetStatus
from functions.shared.adapters.cloudwatch import MetricQuery, MetricSeries
from functions.shared.adapters.logs import InsightsResult
from functions.shared.alert_details import details_for
from functions.shared.investigate.cost_plan import CostQuery
from functions.shared.models import Alert, ResourceRef

NOW = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)


@dataclass
class FakeCostExplorer:
    """Answers each planned query with the results the seeder would queue for `seed`."""

    seed: CostSeed | None = None
    today: date = field(default_factory=NOW.date)
    error: Exception | None = None
    calls: list[CostQuery] = field(default_factory=list)

    def cost_and_usage(self, query: CostQuery) -> list[dict[str, Any]]:
        self.calls.append(query)
        if self.error is not None:
            raise self.error
        if self.seed is None:
            return []
        from functions.shared.investigate.cost_plan import cost_query_plan

        index = [q.purpose for q in cost_query_plan(self.today)].index(query.purpose)
        return list(cost_results(self.seed, self.today)[index]["ResultsByTime"])


@dataclass
class FakeBudgets:
    statuses: list[BudgetStatus] = field(default_factory=list)
    error: Exception | None = None
    account: str = "123456789012"

    def account_id(self) -> str:
        return self.account

    def budgets(self, account_id: str) -> list[BudgetStatus]:
        if self.error is not None:
            raise self.error
        return self.statuses


@dataclass
class FakeCloudWatch:
    """Series by metric name (and optionally dimension value): (minutes before NOW, value) pairs."""

    series: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    error: Exception | None = None
    calls: list[list[MetricQuery]] = field(default_factory=list)
    # DescribeAlarms by alarm name (a composite alarm's children), as CloudWatch describes each.
    alarms: dict[str, dict[str, Any]] = field(default_factory=dict)

    def alarm(self, alarm_name: str) -> dict[str, Any] | None:
        return self.alarms.get(alarm_name)

    def metric_data(self, queries: list[MetricQuery], start: datetime, end: datetime) -> dict[str, MetricSeries]:
        self.calls.append(queries)
        if self.error is not None:
            raise self.error
        out = {}
        for query in queries:
            dimension = next(iter(query.dimensions.values()), "")
            points = self.series.get(f"{query.metric_name}:{dimension}", self.series.get(query.metric_name, []))
            stamped = sorted((NOW - timedelta(minutes=m), v) for m, v in points)
            inside = [(t, v) for t, v in stamped if start <= t <= end]
            out[query.id] = MetricSeries(
                id=query.id, stat=query.stat, timestamps=[t for t, _ in inside], values=[v for _, v in inside]
            )
        return out


@dataclass
class FakeLambdas:
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: Exception | None = None

    def function(self, name: str) -> dict[str, Any] | None:
        if self.error is not None:
            raise self.error
        return self.functions.get(name)

    def function_names(self, limit: int = 50) -> list[str]:
        if self.error is not None:
            raise self.error
        return list(self.functions)[:limit]


@dataclass
class FakeEc2:
    instances: dict[str, dict[str, Any]] = field(default_factory=dict)
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)

    def instance(self, instance_id: str) -> dict[str, Any] | None:
        return self.instances.get(instance_id)

    def instance_status(self, instance_id: str) -> dict[str, Any] | None:
        return self.statuses.get(instance_id)

    def running_instances(self, limit: int = 200) -> list[dict[str, Any]]:
        running = [i for i in self.instances.values() if (i.get("State") or {}).get("Name", "running") == "running"]
        return running[:limit]


@dataclass
class FakeLogs:
    rows: list[dict[str, str]] = field(default_factory=list)
    groups: set[str] = field(default_factory=set)
    status: str = "Complete"
    error: Exception | None = None
    queries: list[tuple[list[str], str, datetime, datetime, float]] = field(default_factory=list)

    def log_group_exists(self, name: str) -> bool:
        if self.error is not None:
            raise self.error
        return name in self.groups

    def insights_query(
        self, log_groups: list[str], query: str, start: datetime, end: datetime, *, max_wait_seconds: float
    ) -> InsightsResult:
        self.queries.append((log_groups, query, start, end, max_wait_seconds))
        return InsightsResult(status=self.status, rows=self.rows)  # type: ignore[arg-type]


@dataclass
class FakeSecurityHub:
    found: list[dict[str, Any]] = field(default_factory=list)

    def findings(self, filters: dict[str, Any], max_findings: int = 100) -> list[dict[str, Any]]:
        return self.found[:max_findings]


@dataclass
class FakeGuardDuty:
    count: int = 0

    def detector_id(self) -> str | None:
        return "detector-1"

    def count_findings(self, detector_id: str, finding_type: str) -> int:
        return self.count


class FakeHealth:
    def event_details(self, event_arn: str) -> dict[str, Any] | None:
        return None

    def affected_entities(self, event_arn: str, limit: int = 20) -> list[dict[str, Any]]:
        return []


def log_row(minutes_ago: float, message: str) -> dict[str, str]:
    at = NOW - timedelta(minutes=minutes_ago)
    return {"@timestamp": at.strftime("%Y-%m-%d %H:%M:%S.000"), "@message": message, "@logStream": "s"}


def budget_alert(**details: Any) -> Alert:
    return Alert(
        source="budget",
        alert_type="budget_exceeded",
        severity="critical",
        title="Budget monthly-aws-spend exceeded",
        account_id="123456789012",
        region="us-east-1",
        resource=ResourceRef(type="AWS::Budgets::Budget", name="monthly-aws-spend"),
        details=details_for("budget", {"budget_name": "monthly-aws-spend", **details}),
        dedup_key="budget-1",
    )


def alarm_alert(
    metric_name: str, namespace: str, dimensions: dict[str, str], *, threshold: float | None = None, **extra: Any
) -> Alert:
    details: dict[str, Any] = {
        "alarm_name": f"{metric_name}-alarm",
        "state": "ALARM",
        "namespace": namespace,
        "metric_name": metric_name,
        "dimensions": dimensions,
        "statistic": "Sum",
        "period_seconds": 300,
        "comparison_operator": "GreaterThanThreshold",
        **extra,
    }
    if threshold is not None:
        details["threshold"] = threshold
    return Alert(
        source="cloudwatch_alarm",
        alert_type="alarm",
        severity="critical",
        title=f"ALARM: {metric_name}",
        account_id="123456789012",
        region="us-east-1",
        occurred_at=NOW - timedelta(minutes=5),
        details=details_for("cloudwatch_alarm", details),
        dedup_key="alarm-1",
    )


@dataclass
class FakeNatGateways:
    gateways: list[Any] = field(default_factory=list)  # NatGatewayInfo

    def nat_gateways(self, ids: list[str] | None = None) -> list[Any]:
        return [g for g in self.gateways if not ids or g.nat_gateway_id in ids]


@dataclass
class FakeLogGroups:
    groups: list[Any] = field(default_factory=list)  # LogGroupInfo

    def log_groups(self, prefix: str | None = None, limit: int = 50) -> list[Any]:
        return [g for g in self.groups if not prefix or g.name.startswith(prefix)][:limit]


@dataclass
class FakeMetricCatalog:
    sets: dict[tuple[str, str], list[dict[str, str]]] = field(default_factory=dict)  # (namespace, metric) -> sets
    # (namespace, the first dimension's value) -> the metrics published for exactly the asked dimensions
    names: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    name_calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def dimension_sets(self, namespace: str, metric_name: str) -> list[dict[str, str]]:
        return self.sets.get((namespace, metric_name), [])

    def metric_names(self, namespace: str, dimensions: dict[str, str]) -> list[str]:
        self.name_calls.append((namespace, dict(dimensions)))
        return self.names.get((namespace, next(iter(dimensions.values()), "")), [])
