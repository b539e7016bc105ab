"""The SQS, DynamoDB, event source mapping and REPORT-line readers against moto, on an account the scenario seeder
built: what a scenario file seeds is what the investigation reads."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from moto import mock_aws

from functions.local_runner.seed import (
    AccountSeed,
    LambdaFunctionSeed,
    LogEventSeed,
    LogGroupSeed,
    LogStreamSeed,
    seed_account,
)
from functions.local_runner.seed_queues import (
    DynamoDbTableSeed,
    EventSourceMappingSeed,
    ScalingSeed,
    SqsQueueSeed,
    TableIndexSeed,
)
from functions.shared.adapters.queues import (
    DynamoDbReader,
    EventSourceMappingReader,
    LambdaReportReader,
    SqsReader,
)
from functions.shared.cache import clear_cache

REGION = "us-east-1"
REPORT = (
    "REPORT RequestId: 6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d\tDuration: 8112.54 ms\tBilled Duration: 8113 ms\t"
    "Memory Size: 1024 MB\tMax Memory Used: 1024 MB\tStatus: error\tError Type: Runtime.OutOfMemory"
)


@pytest.fixture(scope="module")
def account() -> Iterator[datetime]:
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        os.environ.setdefault(key, value)
    now = datetime.now(UTC)
    with mock_aws():
        seed_account(
            AccountSeed(
                lambda_functions=[LambdaFunctionSeed(name="OrdersConsumer", memory_mb=1024)],
                sqs_queues=[
                    SqsQueueSeed(name="orders-dlq", retention_seconds=1209600, visible_messages=12),
                    SqsQueueSeed(
                        name="orders",
                        visibility_timeout_seconds=180,
                        dead_letter_queue="orders-dlq",
                        max_receive_count=3,
                        visible_messages=25,
                    ),
                ],
                dynamodb_tables=[
                    DynamoDbTableSeed(
                        name="carts",
                        read_units=200,
                        write_units=100,
                        global_secondary_indexes=[TableIndexSeed(name="by-customer", partition_key="customerId")],
                        stream=True,
                        write_auto_scaling=ScalingSeed(min=50, max=100),
                    ),
                    DynamoDbTableSeed(name="sessions", billing_mode="PAY_PER_REQUEST"),
                ],
                event_source_mappings=[
                    EventSourceMappingSeed(
                        function="OrdersConsumer",
                        queue="orders",
                        batch_size=10,
                        maximum_concurrency=5,
                        last_processing_result="PROBLEM: Function call failed",
                    ),
                    EventSourceMappingSeed(function="OrdersConsumer", table_stream="carts", batch_size=100),
                ],
                log_groups=[
                    LogGroupSeed(
                        name="/aws/lambda/OrdersConsumer",
                        streams=[
                            LogStreamSeed(
                                events=[
                                    LogEventSeed(message="[INFO] processed batch", minutes_ago=2),
                                    LogEventSeed(message=REPORT, minutes_ago=1, repeat=3, every_seconds=10),
                                ]
                            )
                        ],
                    )
                ],
            ),
            now=now,
        )
        yield now
    clear_cache()


def test_queue_attributes_with_redrive_policy_and_waiting_messages(account: datetime) -> None:
    queue = SqsReader(region=REGION).queue("orders")
    assert queue is not None
    assert (queue.visible, queue.visibility_timeout_seconds, queue.max_receive_count) == (25, 180, 3)
    assert queue.dead_letter_queue == "orders-dlq"
    dlq = SqsReader(region=REGION).queue("orders-dlq")
    assert dlq is not None and dlq.visible == 12 and dlq.retention_seconds == 1209600
    assert SqsReader(region=REGION).queue("no-such-queue") is None


def test_event_source_mappings_by_queue_and_by_function(account: datetime) -> None:
    reader = EventSourceMappingReader(region=REGION)
    queue = SqsReader(region=REGION).queue("orders")
    assert queue is not None and queue.arn
    [by_queue] = reader.mappings(source_arn=queue.arn)
    assert by_queue.function_name == "OrdersConsumer"
    assert (by_queue.state, by_queue.batch_size, by_queue.maximum_concurrency) == ("Enabled", 10, 5)
    assert by_queue.last_processing_result == "PROBLEM: Function call failed"
    by_function = reader.mappings(function_name="OrdersConsumer")
    assert sorted(m.source_arn.split(":")[2] for m in by_function) == ["dynamodb", "sqs"]


def test_tables_provisioned_and_on_demand(account: datetime) -> None:
    reader = DynamoDbReader(region=REGION)
    carts = reader.table("carts")
    assert carts is not None
    assert (carts.billing_mode, carts.read_units, carts.write_units) == ("PROVISIONED", 200, 100)
    assert [i.name for i in carts.indexes] == ["by-customer"] and carts.stream_arn
    scaling = reader.scaling("carts")
    assert scaling is not None and (scaling.write_min, scaling.write_max, scaling.read_max) == (50, 100, None)
    assert reader.scaling("sessions") is None
    sessions = reader.table("sessions")
    assert sessions is not None and sessions.on_demand and sessions.write_units is None
    assert reader.table("no-such-table") is None


def test_report_lines_are_read_from_the_function_log_group(account: datetime) -> None:
    lines = LambdaReportReader(region=REGION).reports(
        "/aws/lambda/OrdersConsumer", account - timedelta(hours=1), account + timedelta(minutes=1)
    )
    assert len(lines) == 3
    assert {(line.max_memory_used_mb, line.memory_size_mb, line.error_type) for line in lines} == {
        (1024, 1024, "Runtime.OutOfMemory")
    }
    assert LambdaReportReader(region=REGION).reports("/aws/lambda/Missing", account, account) == []
