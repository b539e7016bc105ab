"""The read adapters against moto: metrics, Logs Insights, Lambda, EC2, Budgets, Cost Explorer, Security Hub."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from functions.local_runner.seed import (
    AccountSeed,
    BudgetSeed,
    CostSeed,
    Ec2InstanceSeed,
    FindingSeed,
    LambdaFunctionSeed,
    LogEventSeed,
    LogGroupSeed,
    LogStreamSeed,
    MetricSegmentSeed,
    MetricSeriesSeed,
    ServiceCostSeed,
    seed_account,
)
from functions.shared.adapters.aws import reset_clients
from functions.shared.adapters.aws_reads import aws_read
from functions.shared.adapters.budgets import BudgetsReader
from functions.shared.adapters.cloudwatch import CloudWatchReader, MetricQuery
from functions.shared.adapters.compute import Ec2Reader, LambdaReader
from functions.shared.adapters.cost_explorer import CostExplorerReader
from functions.shared.adapters.findings import SecurityHubReader
from functions.shared.adapters.logs import LogsReader
from functions.shared.cache import clear_cache
from functions.shared.errors import AwsReadDeniedError, AwsReadUnavailableError, GatherThrottledError
from functions.shared.investigate.cost import cost_trend
from functions.shared.investigate.logs import error_query, group_errors

REGION = "us-east-1"


@pytest.fixture(scope="module")
def account() -> Iterator[datetime]:
    """One seeded account for the module: seeding (EC2 in particular) is the slow part."""
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        os.environ.setdefault(key, value)
    now = datetime.now(UTC)
    with mock_aws():
        seed_account(
            AccountSeed(
                lambda_functions=[
                    LambdaFunctionSeed(name="CheckoutService", reserved_concurrency=20, last_modified_minutes_ago=27)
                ],
                ec2_instances=[
                    Ec2InstanceSeed(instance_id="i-0c1d2e3f4a5b6c7d8", name="web-api-1", launched_minutes_ago=8640)
                ],
                metrics=[
                    MetricSeriesSeed(
                        namespace="AWS/Lambda",
                        metric_name="Duration",
                        dimensions={"FunctionName": "CheckoutService"},
                        segments=[MetricSegmentSeed(value=100, points=6)],
                        values=[900, 950],
                    )
                ],
                log_groups=[
                    LogGroupSeed(
                        name="/aws/lambda/CheckoutService",
                        streams=[
                            LogStreamSeed(
                                events=[
                                    LogEventSeed(message="[ERROR] KeyError: 'X'", minutes_ago=2, repeat=5),
                                    LogEventSeed(message="[INFO] ok", minutes_ago=1, repeat=3),
                                ]
                            )
                        ],
                    )
                ],
                cost=CostSeed(services={"AWS Lambda": ServiceCostSeed(daily=[10.0, 40.0])}, month_to_date=500.0),
                budgets=[BudgetSeed(name="monthly", limit=1000, actual=500, forecasted=1100)],
                findings=[FindingSeed(id="f-1", title="S3.8", security_control_id="S3.8", similar=2)],
            ),
            now=now,
        )
        yield now
        clear_cache()
        reset_clients()


def test_metric_data_returns_ordered_series_and_falls_back_from_p99(account: datetime):
    # Given Duration datapoints; moto cannot compute percentiles
    reader = CloudWatchReader(region=REGION)
    query = MetricQuery(
        id="d", namespace="AWS/Lambda", metric_name="Duration", dimensions={"FunctionName": "CheckoutService"},
        stat="p99", period_seconds=300,
    )  # fmt: skip

    # When asked for p99
    series = reader.metric_data([query], account - timedelta(hours=1), account + timedelta(minutes=1))["d"]

    # Then the series is oldest first, and says it is Maximum rather than pretending to be p99
    assert series.stat == "Maximum"
    assert series.values[-2:] == [900.0, 950.0]
    assert series.timestamps == sorted(series.timestamps)


def test_logs_insights_query_returns_rows_within_the_wait(account: datetime):
    reader = LogsReader(region=REGION)
    assert reader.log_group_exists("/aws/lambda/CheckoutService")
    assert not reader.log_group_exists("/aws/lambda/Nope")
    result = reader.insights_query(
        ["/aws/lambda/CheckoutService"], error_query(), account - timedelta(hours=1), account, max_wait_seconds=2
    )
    assert result.complete
    # moto ignores the query's filter; grouping applies it again
    groups = group_errors(result.rows)
    assert [(g.example, g.count) for g in groups] == [("[ERROR] KeyError: 'X'", 5)]


def test_lambda_reader_reports_configuration_concurrency_and_last_modified(account: datetime):
    configuration = LambdaReader(region=REGION).function("CheckoutService")
    assert configuration is not None
    assert configuration["ReservedConcurrentExecutions"] == 20
    assert configuration["LastModified"].startswith((account - timedelta(minutes=27)).strftime("%Y-%m-%dT%H:%M"))
    assert LambdaReader(region=REGION).function("Missing") is None
    assert LambdaReader(region=REGION).function_names() == ["CheckoutService"]


def test_ec2_reader_finds_the_pinned_instance_id(account: datetime):
    instance = Ec2Reader(region=REGION).instance("i-0c1d2e3f4a5b6c7d8")
    assert instance is not None and instance["State"]["Name"] == "running"
    assert Ec2Reader(region=REGION).instance("i-0000000000000000f") is None
    running = Ec2Reader(region=REGION).running_instances()
    assert [i["InstanceId"] for i in running] == ["i-0c1d2e3f4a5b6c7d8"]
    launched = running[0]["LaunchTime"]
    assert abs((account - launched).total_seconds() - 6 * 86400) < 120


def test_budgets_and_cost_explorer_return_the_seeded_numbers(account: datetime):
    budgets = BudgetsReader().budgets("123456789012")
    assert [(b.name, b.limit, b.actual, b.forecasted) for b in budgets] == [("monthly", 1000, 500, 1100)]
    trend = cost_trend(CostExplorerReader(), today=account.date())
    assert trend.by_service["AWS Lambda"][-2:] == [10.0, 40.0]
    assert trend.month_to_date == 500.0


def test_security_hub_reader_lists_findings(account: datetime):
    found = SecurityHubReader(region=REGION).findings({"RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}]})
    assert sorted(f["Id"] for f in found) == ["f-1", "f-1-2", "f-1-3"]


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} happened"}}, "Operation")


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("ThrottlingException", GatherThrottledError),
        ("LimitExceededException", GatherThrottledError),
        ("AccessDeniedException", AwsReadDeniedError),
        ("ResourceNotFoundException", AwsReadUnavailableError),
    ],
)
def test_aws_read_translates_client_errors(code: str, error: type[Exception]):
    def call() -> None:
        raise _client_error(code)

    with pytest.raises(error) as raised:
        aws_read("logs:StartQuery", call)
    if error is AwsReadDeniedError:
        assert raised.value.permission == "logs:StartQuery"  # type: ignore[attr-defined]
