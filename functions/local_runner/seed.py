"""Seed a simulated AWS account (moto) with a scenario's resources, metrics, logs, costs and findings.

`seed_account` runs INSIDE an active `mock_aws(...)`: the local runner enters the mock, calls it once with the
run's `now`, then executes the state machine. Every time in a seed is relative to that `now` (`minutes_ago`,
`end_minutes_ago`), so a scenario file never goes stale.

Two things the simulated account cannot do by itself, and how the seeder handles them:
- Cost Explorer keeps no cost data. moto answers `GetCostAndUsage` from a queue: each DISTINCT request (its exact
  parameters) takes the next queued result, in the order requests first arrive. The queries the cost playbook
  makes, and their order, are defined in ONE place — `functions.shared.investigate.cost_plan.cost_query_plan` — and
  this seeder builds one result per planned query, in that order, from the scenario's daily costs. Change the
  plan and the seeder follows; add a Cost Explorer call outside the plan and local runs get wrong numbers.
- EC2 instance IDs are random in moto, but an alert names its instance. A seeded instance keeps the ID the
  scenario gives it by pinning moto's ID generator for the one `run_instances` call that creates it.

moto has no AWS Health API and no GuardDuty findings API; GuardDuty findings are imported into Security Hub (as
GuardDuty does on AWS when the integration is on), where the playbooks count similar findings.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from unittest import mock

from pydantic import BaseModel, ConfigDict, Field, field_validator

from functions.local_runner import seed_containers
from functions.local_runner.cloudtrail_server import LOCAL_TRAIL
from functions.local_runner.moto_elasticache import LOCAL_CACHE_EXTRAS
from functions.local_runner.seed_caches import CacheClusterSeed, CacheEventSeed, seed_caches
from functions.local_runner.seed_cloudtrail import CloudTrailEventSeed, seed_cloudtrail
from functions.local_runner.seed_cost import NatGatewaySeed, seed_nat_gateways
from functions.local_runner.seed_databases import (
    AutoScalingGroupSeed,
    LoadBalancerSeed,
    RdsClusterSeed,
    RdsInstanceSeed,
    seed_infrastructure,
)
from functions.local_runner.seed_queues import (
    DynamoDbTableSeed,
    EventSourceMappingSeed,
    SqsQueueSeed,
    seed_queues_and_tables,
)
from functions.local_runner.seed_search import OpenSearchDomainSeed, seed_opensearch_domains
from functions.local_runner.seed_streams import KinesisStreamSeed, seed_kinesis_streams
from functions.shared.adapters.aws import aws_client, reset_clients
from functions.shared.investigate.cost_plan import COST_WINDOW_DAYS as COST_DAYS
from functions.shared.investigate.cost_plan import cost_query_plan

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
CE_RESULTS_URL = "http://motoapi.amazonaws.com/moto-api/static/ce/cost-and-usage-results"


class _Seed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LambdaFunctionSeed(_Seed):
    """A simulated customer function: created so it can be described, never invoked."""

    name: str
    runtime: str = "python3.12"
    handler: str = "app.handler"
    memory_mb: int = 128
    timeout_seconds: int = 30
    description: str = ""
    environment: dict[str, str] = Field(default_factory=dict)
    reserved_concurrency: int | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    # When its code or configuration last changed: a deploy 20 minutes ago reads `last_modified_minutes_ago: 20`.
    last_modified_minutes_ago: float = 30 * 24 * 60


class Ec2InstanceSeed(_Seed):
    instance_id: str = Field(pattern=r"^i-[0-9a-f]{8,17}$")
    name: str = ""
    instance_type: str = "t3.medium"
    image_id: str = "ami-0abcdef1234567890"
    state: Literal["running", "stopped"] = "running"
    tags: dict[str, str] = Field(default_factory=dict)
    launched_minutes_ago: float = 90 * 24 * 60
    # What DescribeInstanceStatus reports for the system (AWS host) and instance (OS) checks while running.
    system_status: Literal["ok", "impaired"] = "ok"
    instance_status: Literal["ok", "impaired"] = "ok"


class MetricSegmentSeed(_Seed):
    value: float
    points: int = Field(ge=1, le=2000)


class MetricSeriesSeed(_Seed):
    """One metric's datapoints, oldest first; the last one sits `end_minutes_ago` before now.

    `segments` (expanded first) then `values`: a storm reads as
    `segments: [{value: 1200, points: 24}], values: [6000, 15000, 24000]`, one point every `period_minutes`.
    """

    namespace: str
    metric_name: str
    dimensions: dict[str, str] = Field(default_factory=dict)
    segments: list[MetricSegmentSeed] = Field(default_factory=list)
    values: list[float] = Field(default_factory=list)
    period_minutes: int = Field(default=5, ge=1)
    end_minutes_ago: float = 0
    unit: str | None = None

    def points(self) -> list[float]:
        expanded = [segment.value for segment in self.segments for _ in range(segment.points)]
        return expanded + [float(v) for v in self.values]


class LogEventSeed(_Seed):
    message: str
    minutes_ago: float = 1
    # `repeat` copies, each `every_seconds` older than the previous one (a burst of the same error).
    repeat: int = Field(default=1, ge=1, le=500)
    every_seconds: float = 30


class LogStreamSeed(_Seed):
    name: str = "2026/01/01/[$LATEST]0123456789abcdef"
    events: list[LogEventSeed] = Field(default_factory=list)


class LogGroupSeed(_Seed):
    name: str
    retention_days: int | None = 14
    streams: list[LogStreamSeed] = Field(default_factory=list)


class ServiceCostSeed(_Seed):
    """Daily cost of one service, oldest first, the last value being yesterday (the last complete day).

    A list shorter than the window is padded at the front with its first value, so `[10, 10, 40]` reads as
    "steady at 10, then 40 yesterday". `usage_types` split the service's cost; when given without `daily`, the
    service's daily cost is their sum.
    """

    daily: list[float] = Field(default_factory=list)
    usage_types: dict[str, list[float]] = Field(default_factory=dict)


class CostSeed(_Seed):
    services: dict[str, ServiceCostSeed] = Field(default_factory=dict)
    # Month-to-date total; default: the in-month days of the window plus earlier in-month days at the first value.
    month_to_date: float | None = None


class BudgetSeed(_Seed):
    name: str
    limit: float
    actual: float
    forecasted: float | None = None
    time_unit: Literal["DAILY", "MONTHLY", "QUARTERLY", "ANNUALLY"] = "MONTHLY"
    budget_type: Literal["COST", "USAGE"] = "COST"


class FindingSeed(_Seed):
    """A Security Hub finding (ASFF), or a GuardDuty finding as GuardDuty exports it to Security Hub."""

    product: Literal["securityhub", "guardduty"] = "securityhub"
    id: str
    title: str
    description: str = ""
    types: list[str] = Field(default_factory=list)
    severity: Literal["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"] = "MEDIUM"
    resource_type: str = "AwsEc2Instance"
    resource_id: str = ""
    generator_id: str = ""
    compliance_status: Literal["PASSED", "FAILED", "WARNING", "NOT_AVAILABLE"] | None = None
    security_control_id: str | None = None  # e.g. "S3.8"
    minutes_ago: float = 30
    # Extra findings just like this one (ids suffixed -2, -3, ...): the "similar findings" the playbook counts.
    similar: int = Field(default=0, ge=0, le=100)


class AlarmSeed(_Seed):
    """A metric alarm in the account (e.g. a composite alarm's child), in the state the incident left it."""

    name: str
    namespace: str
    metric_name: str
    dimensions: dict[str, str] = Field(default_factory=dict)
    statistic: Literal["Average", "Sum", "Maximum", "Minimum", "SampleCount"] = "Average"
    period_seconds: int = 300
    threshold: float
    comparison: str = "GreaterThanThreshold"
    evaluation_periods: int = 1
    state: Literal["OK", "ALARM", "INSUFFICIENT_DATA"] = "OK"
    reason: str = ""


class AccountSeed(_Seed):
    account_id: str = ACCOUNT_ID
    region: str = REGION
    lambda_functions: list[LambdaFunctionSeed] = Field(default_factory=list)
    ec2_instances: list[Ec2InstanceSeed] = Field(default_factory=list)
    metrics: list[MetricSeriesSeed] = Field(default_factory=list)
    log_groups: list[LogGroupSeed] = Field(default_factory=list)
    cost: CostSeed | None = None
    budgets: list[BudgetSeed] = Field(default_factory=list)
    findings: list[FindingSeed] = Field(default_factory=list)
    alarms: list[AlarmSeed] = Field(default_factory=list)
    rds_instances: list[RdsInstanceSeed] = Field(default_factory=list)
    rds_clusters: list[RdsClusterSeed] = Field(default_factory=list)
    load_balancers: list[LoadBalancerSeed] = Field(default_factory=list)
    auto_scaling_groups: list[AutoScalingGroupSeed] = Field(default_factory=list)
    cloudtrail_events: list[CloudTrailEventSeed] = Field(default_factory=list)
    ecs_clusters: list[seed_containers.EcsClusterSeed] = Field(default_factory=list)
    ecs_task_definitions: list[seed_containers.EcsTaskDefinitionSeed] = Field(default_factory=list)
    ecs_services: list[seed_containers.EcsServiceSeed] = Field(default_factory=list)
    state_machines: list[seed_containers.StateMachineSeed] = Field(default_factory=list)
    rest_apis: list[seed_containers.RestApiSeed] = Field(default_factory=list)
    http_apis: list[seed_containers.HttpApiSeed] = Field(default_factory=list)
    nat_gateways: list[NatGatewaySeed] = Field(default_factory=list)
    sqs_queues: list[SqsQueueSeed] = Field(default_factory=list)
    dynamodb_tables: list[DynamoDbTableSeed] = Field(default_factory=list)
    event_source_mappings: list[EventSourceMappingSeed] = Field(default_factory=list)
    kinesis_streams: list[KinesisStreamSeed] = Field(default_factory=list)
    elasticache_clusters: list[CacheClusterSeed] = Field(default_factory=list)
    elasticache_events: list[CacheEventSeed] = Field(default_factory=list)
    opensearch_domains: list[OpenSearchDomainSeed] = Field(default_factory=list)

    @field_validator("account_id")
    @classmethod
    def _moto_account(cls, value: str) -> str:
        if value != ACCOUNT_ID:
            raise ValueError(f"the simulated account is {ACCOUNT_ID}; seed that account")
        return value


def seed_account(seed: AccountSeed, *, now: datetime) -> None:
    """Create the seed's resources in the active moto account; times are relative to `now` (UTC).

    Raises:
        botocore.exceptions.ClientError: moto rejected a seed value (e.g. an invalid runtime).
        RuntimeError: moto's Cost Explorer API did not accept the queued results.
    """
    from functions.shared.cache import clear_cache

    now = now.astimezone(UTC)
    reset_clients()
    clear_cache()  # a new account: nothing cached from a previous one may leak into this run
    region = seed.region
    if seed.lambda_functions:
        _seed_lambda(seed.lambda_functions, seed.account_id, region, now)
    streams = seed_kinesis_streams(seed.kinesis_streams, region) if seed.kinesis_streams else {}
    if seed.sqs_queues or seed.dynamodb_tables or seed.event_source_mappings:
        seed_queues_and_tables(
            seed.sqs_queues,
            seed.dynamodb_tables,
            seed.event_source_mappings,
            account_id=seed.account_id,
            region=region,
            kinesis_streams=streams,
        )
    if seed.opensearch_domains:
        seed_opensearch_domains(seed.opensearch_domains, region)
    if seed.ec2_instances:
        _seed_ec2(seed.ec2_instances, seed.account_id, region, now)
    if seed.nat_gateways:
        seed_nat_gateways(seed.nat_gateways, region)
    if seed.metrics:
        _seed_metrics(seed.metrics, region, now)
    if seed.alarms:
        _seed_alarms(seed.alarms, region)
    if seed.log_groups:
        _seed_logs(seed.log_groups, region, now)
    if seed.cost is not None:
        queue_cost_results(seed.cost, today=now.date())
    for budget in seed.budgets:
        _seed_budget(budget, seed.account_id, now)
    if seed.findings:
        _seed_findings(seed.findings, seed.account_id, region, now)
    if seed.rds_instances or seed.rds_clusters or seed.load_balancers or seed.auto_scaling_groups:
        seed_infrastructure(
            rds_instances=seed.rds_instances,
            rds_clusters=seed.rds_clusters,
            load_balancers=seed.load_balancers,
            auto_scaling_groups=seed.auto_scaling_groups,
            account_id=seed.account_id,
            region=region,
            now=now,
        )
    LOCAL_TRAIL.reset()  # a new account: no event of a previous run may be served in this one
    LOCAL_CACHE_EXTRAS.reset()
    if seed.elasticache_clusters or seed.elasticache_events:
        seed_caches(
            seed.elasticache_clusters, seed.elasticache_events, account_id=seed.account_id, region=region, now=now
        )
    seed_cloudtrail(seed.cloudtrail_events, account_id=seed.account_id, region=region, now=now)
    if seed.ecs_clusters or seed.ecs_services:
        seed_containers.seed_ecs(
            seed.ecs_clusters, seed.ecs_task_definitions, seed.ecs_services, seed.account_id, region, now
        )
    if seed.state_machines:
        seed_containers.seed_state_machines(seed.state_machines, seed.account_id, region, now)
    if seed.rest_apis:
        seed_containers.seed_rest_apis(seed.rest_apis, seed.account_id, region)
    if seed.http_apis:
        seed_containers.seed_http_apis(seed.http_apis, seed.account_id, region)


def _seed_lambda(functions: list[LambdaFunctionSeed], account_id: str, region: str, now: datetime) -> None:
    iam = aws_client("iam", region)
    role_arn = iam.create_role(
        RoleName="simulated-customer-lambda-role",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    client = aws_client("lambda", region)
    for fn in functions:
        client.create_function(
            FunctionName=fn.name,
            Runtime=fn.runtime,
            Role=role_arn,
            Handler=fn.handler,
            Code={"ZipFile": _stub_zip()},
            Description=fn.description,
            MemorySize=fn.memory_mb,
            Timeout=fn.timeout_seconds,
            Environment={"Variables": fn.environment},
            Tags=fn.tags,
        )
        if fn.reserved_concurrency is not None:
            client.put_function_concurrency(FunctionName=fn.name, ReservedConcurrentExecutions=fn.reserved_concurrency)
        _set_last_modified(fn.name, account_id, region, now - timedelta(minutes=fn.last_modified_minutes_ago))


def _set_last_modified(name: str, account_id: str, region: str, when: datetime) -> None:
    """moto stamps LastModified with the creation time and the Lambda API cannot set it: set it on moto's model."""
    from moto.awslambda.models import lambda_backends
    from moto.awslambda_simple.models import lambda_simple_backends

    # Which backend holds the function depends on moto's Lambda config (docker-less runs use the simple one).
    for backends in (lambda_simple_backends, lambda_backends):
        try:
            function = backends[account_id][region].get_function(name)
        except Exception:  # not in this backend: try the next
            continue
        function.last_modified = when.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _stub_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


def _seed_ec2(instances: list[Ec2InstanceSeed], account_id: str, region: str, now: datetime) -> None:
    client = aws_client("ec2", region)
    for instance in instances:
        tags = {"Name": instance.name, **instance.tags} if instance.name else dict(instance.tags)
        tag_spec = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
        # moto draws instance IDs at random; the alert names this one, so pin it for this call only.
        with mock.patch("moto.ec2.models.instances.random_instance_id", return_value=instance.instance_id):
            client.run_instances(
                ImageId=instance.image_id,
                MinCount=1,
                MaxCount=1,
                InstanceType=instance.instance_type,
                **({"TagSpecifications": tag_spec} if tags else {}),
            )
        if instance.state == "stopped":
            client.stop_instances(InstanceIds=[instance.instance_id])
        _set_launch_time(
            instance.instance_id, account_id, region, now - timedelta(minutes=instance.launched_minutes_ago)
        )
        if (instance.system_status, instance.instance_status) != ("ok", "ok"):
            _set_status_checks(
                instance.instance_id, account_id, region, instance.system_status, instance.instance_status
            )


def _set_status_checks(instance_id: str, account_id: str, region: str, system: str, own: str) -> None:
    """moto always reports passing status checks (read-only properties of its Instance model): give this one
    instance a subclass whose checks, while it runs, report what the scenario says."""
    from moto.ec2.models import ec2_backends

    instance = ec2_backends[account_id][region].get_instance(instance_id)
    base = type(instance)

    def check(status: str) -> property:
        detail = {"Name": "reachability", "Status": "passed" if status == "ok" else "failed"}
        running = {"Details": [detail], "Status": status}
        return property(lambda self: running if self.state_code == 16 else {"Status": "not-applicable"})

    overrides = {"system_status": check(system), "instance_status": check(own)}
    instance.__class__ = type(f"Seeded{base.__name__}", (base,), overrides)


def _set_launch_time(instance_id: str, account_id: str, region: str, when: datetime) -> None:
    """moto stamps LaunchTime with the creation time and EC2 cannot change it: set it on moto's model (naive UTC)."""
    from moto.ec2.models import ec2_backends

    ec2_backends[account_id][region].get_instance(instance_id).launch_time = when.astimezone(UTC).replace(tzinfo=None)


def _seed_alarms(alarms: list[AlarmSeed], region: str) -> None:
    cloudwatch = aws_client("cloudwatch", region)
    for alarm in alarms:
        cloudwatch.put_metric_alarm(
            AlarmName=alarm.name,
            Namespace=alarm.namespace,
            MetricName=alarm.metric_name,
            Dimensions=[{"Name": k, "Value": v} for k, v in alarm.dimensions.items()],
            Statistic=alarm.statistic,
            Period=alarm.period_seconds,
            EvaluationPeriods=alarm.evaluation_periods,
            Threshold=alarm.threshold,
            ComparisonOperator=alarm.comparison,
        )
        if alarm.state != "OK" or alarm.reason:
            cloudwatch.set_alarm_state(
                AlarmName=alarm.name, StateValue=alarm.state, StateReason=alarm.reason or f"Seeded {alarm.state}"
            )


def _seed_metrics(series_list: list[MetricSeriesSeed], region: str, now: datetime) -> None:
    client = aws_client("cloudwatch", region)
    for series in series_list:
        points = series.points()
        last_at = now - timedelta(minutes=series.end_minutes_ago)
        data = []
        for index, value in enumerate(points):
            at = last_at - timedelta(minutes=series.period_minutes * (len(points) - 1 - index))
            datum: dict[str, Any] = {
                "MetricName": series.metric_name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in series.dimensions.items()],
                "Timestamp": at,
                "Value": float(value),
            }
            if series.unit:
                datum["Unit"] = series.unit
            data.append(datum)
        for start in range(0, len(data), 500):
            client.put_metric_data(Namespace=series.namespace, MetricData=data[start : start + 500])


def _seed_logs(groups: list[LogGroupSeed], region: str, now: datetime) -> None:
    client = aws_client("logs", region)
    for group in groups:
        client.create_log_group(logGroupName=group.name)
        if group.retention_days:
            client.put_retention_policy(logGroupName=group.name, retentionInDays=group.retention_days)
        for stream in group.streams:
            client.create_log_stream(logGroupName=group.name, logStreamName=stream.name)
            events: list[dict[str, Any]] = []
            for event in stream.events:
                for copy in range(event.repeat):
                    at = now - timedelta(minutes=event.minutes_ago, seconds=copy * event.every_seconds)
                    events.append({"timestamp": int(at.timestamp() * 1000), "message": event.message})
            events.sort(key=lambda e: e["timestamp"])
            for start in range(0, len(events), 1000):
                client.put_log_events(
                    logGroupName=group.name, logStreamName=stream.name, logEvents=events[start : start + 1000]
                )


# --- Cost Explorer ---------------------------------------------------------------------------------------------


def _window(values: list[float], days: int = COST_DAYS) -> list[float]:
    if not values:
        return [0.0] * days
    values = [float(v) for v in values[-days:]]
    return [values[0]] * (days - len(values)) + values


def service_daily(service: ServiceCostSeed) -> list[float]:
    if service.daily:
        return _window(service.daily)
    if service.usage_types:
        columns = [_window(v) for v in service.usage_types.values()]
        return [round(sum(day), 6) for day in zip(*columns, strict=True)]
    return _window([])


def month_to_date(cost: CostSeed, today: date) -> float:
    if cost.month_to_date is not None:
        return cost.month_to_date
    first_day = today - timedelta(days=COST_DAYS)
    total = 0.0
    for service in cost.services.values():
        daily = service_daily(service)
        for offset, value in enumerate(daily):
            if (first_day + timedelta(days=offset)).month == today.month:
                total += value
        earlier_in_month = max(0, (first_day - today.replace(day=1)).days)
        total += earlier_in_month * daily[0]
    return round(total, 2)


def cost_results(cost: CostSeed, today: date) -> list[dict[str, Any]]:
    """One GetCostAndUsage result per query of the cost playbook's plan, in the plan's order."""
    results = []
    for query in cost_query_plan(today):
        days = [query.start + timedelta(days=i) for i in range((query.end - query.start).days)]
        first_day = today - timedelta(days=COST_DAYS)
        if query.granularity == "MONTHLY":
            amount = month_to_date(cost, today)
            results.append(
                {
                    "ResultsByTime": [
                        {
                            "TimePeriod": {"Start": query.start.isoformat(), "End": query.end.isoformat()},
                            "Total": {query.metric: {"Amount": f"{amount:.4f}", "Unit": "USD"}},
                            "Groups": [],
                            "Estimated": True,
                        }
                    ],
                    "DimensionValueAttributes": [],
                }
            )
            continue
        by_time = []
        for day in days:
            offset = (day - first_day).days
            groups = []
            for service_name, service in cost.services.items():
                if query.group_by == ("SERVICE",):
                    groups.append(_group([service_name], service_daily(service)[offset], query.metric))
                else:
                    usage = service.usage_types or {f"{service_name} usage": service_daily(service)}
                    for usage_type, values in usage.items():
                        groups.append(_group([service_name, usage_type], _window(values)[offset], query.metric))
            by_time.append(
                {
                    "TimePeriod": {"Start": day.isoformat(), "End": (day + timedelta(days=1)).isoformat()},
                    "Total": {},
                    "Groups": groups,
                    "Estimated": day >= today - timedelta(days=1),
                }
            )
        results.append({"ResultsByTime": by_time, "DimensionValueAttributes": []})
    return results


def _group(keys: list[str], amount: float, metric: str) -> dict[str, Any]:
    return {"Keys": keys, "Metrics": {metric: {"Amount": f"{amount:.4f}", "Unit": "USD"}}}


def queue_cost_results(cost: CostSeed, *, today: date) -> None:
    """Queue the scenario's Cost Explorer answers in moto, in the order the cost playbook asks.

    Raises:
        RuntimeError: moto did not accept them (the mock is not active).
    """
    import requests

    response = requests.post(CE_RESULTS_URL, json={"results": cost_results(cost, today)}, timeout=5)
    if response.status_code != 201:
        raise RuntimeError(f"moto refused the Cost Explorer results: HTTP {response.status_code}")


# --- Budgets and findings --------------------------------------------------------------------------------------


def _seed_budget(budget: BudgetSeed, account_id: str, now: datetime) -> None:
    calculated: dict[str, Any] = {"ActualSpend": {"Amount": f"{budget.actual:.2f}", "Unit": "USD"}}
    if budget.forecasted is not None:
        calculated["ForecastedSpend"] = {"Amount": f"{budget.forecasted:.2f}", "Unit": "USD"}
    aws_client("budgets", "us-east-1").create_budget(
        AccountId=account_id,
        Budget={
            "BudgetName": budget.name,
            "BudgetLimit": {"Amount": f"{budget.limit:.2f}", "Unit": "USD"},
            "TimeUnit": budget.time_unit,
            "BudgetType": budget.budget_type,
            "TimePeriod": {"Start": datetime(now.year, now.month, 1, tzinfo=UTC)},
            "CalculatedSpend": calculated,
        },
    )


_SEVERITY_SCORE = {"INFORMATIONAL": 0, "LOW": 1, "MEDIUM": 40, "HIGH": 70, "CRITICAL": 90}


def _seed_findings(findings: list[FindingSeed], account_id: str, region: str, now: datetime) -> None:
    client = aws_client("securityhub", region)
    client.enable_security_hub()
    batch = []
    for finding in findings:
        for copy in range(finding.similar + 1):
            batch.append(_asff(finding, copy, account_id, region, now))
    for start in range(0, len(batch), 100):
        client.batch_import_findings(Findings=batch[start : start + 100])


def _asff(finding: FindingSeed, copy: int, account_id: str, region: str, now: datetime) -> dict[str, Any]:
    finding_id = finding.id if copy == 0 else f"{finding.id}-{copy + 1}"
    at = (now - timedelta(minutes=finding.minutes_ago + copy * 60)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if finding.product == "guardduty":
        product_arn = f"arn:aws:securityhub:{region}::product/aws/guardduty"
    else:
        product_arn = f"arn:aws:securityhub:{region}:{account_id}:product/{account_id}/default"
    resource_id = finding.resource_id or f"arn:aws:ec2:{region}:{account_id}:instance/unknown"
    record: dict[str, Any] = {
        "SchemaVersion": "2018-10-08",
        "Id": finding_id,
        "ProductArn": product_arn,
        "ProductName": "GuardDuty" if finding.product == "guardduty" else "Security Hub",
        "GeneratorId": finding.generator_id or finding.id,
        "AwsAccountId": account_id,
        "Region": region,
        "Types": finding.types or ["Software and Configuration Checks"],
        "CreatedAt": at,
        "UpdatedAt": at,
        "FirstObservedAt": at,
        "Severity": {"Label": finding.severity, "Normalized": _SEVERITY_SCORE[finding.severity]},
        "Title": finding.title,
        "Description": finding.description or finding.title,
        "Resources": [{"Type": finding.resource_type, "Id": resource_id, "Region": region}],
        "RecordState": "ACTIVE",
        "Workflow": {"Status": "NEW"},
    }
    if finding.compliance_status or finding.security_control_id:
        record["Compliance"] = {"Status": finding.compliance_status or "FAILED"}
        if finding.security_control_id:
            record["Compliance"]["SecurityControlId"] = finding.security_control_id
    return record
