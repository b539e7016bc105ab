"""The queue and table investigations inside the gather stages: a Lambda alarm reaches the table its environment
names, and a queue alarm searches its consumer's logs."""

from __future__ import annotations

from functions.gather_compute.logic import ComputeReaders, gather_compute
from functions.gather_logs.logic import LogReaders, gather_logs
from functions.shared.adapters.queues import QueueAttributes, TableDescription
from functions.shared.models import StageInput
from functions.shared.settings import Settings
from tests.support.gather_fakes import (
    NOW,
    FakeCloudWatch,
    FakeEc2,
    FakeGuardDuty,
    FakeHealth,
    FakeLambdas,
    FakeLogs,
    FakeSecurityHub,
    alarm_alert,
    log_row,
)
from tests.support.queue_fakes import FakeDynamoDb, FakeMappings, FakeSqs, mapping, queue_readers, sqs_arn


def five_minute(before: list[float], recent: list[float]) -> list[tuple[float, float]]:
    values = before + recent
    return [((len(values) - 1 - i) * 5, v) for i, v in enumerate(values)]


def test_a_lambda_alarm_reaches_the_throttling_table_its_environment_names():
    lambdas = FakeLambdas(
        functions={
            "ReservationsApi": {
                "Runtime": "nodejs20.x",
                "MemorySize": 256,
                "Timeout": 10,
                "Environment": {"Variables": {"RESERVATIONS_TABLE": "reservations", "LOG_LEVEL": "info"}},
            }
        }
    )
    dynamodb = FakeDynamoDb(
        tables={"reservations": TableDescription(name="reservations", read_units=100, write_units=50)}
    )
    cloudwatch = FakeCloudWatch(
        series={
            "Errors": five_minute([0] * 30, [96, 241, 318]),
            "ConsumedWriteCapacityUnits": five_minute([6000] * 30, [14500, 15000, 15000]),
            "WriteThrottleEvents": five_minute([0] * 30, [420, 1350, 1800]),
        }
    )
    readers = ComputeReaders(
        cloudwatch=cloudwatch,  # type: ignore[arg-type]
        lambdas=lambdas,  # type: ignore[arg-type]
        ec2=FakeEc2(),  # type: ignore[arg-type]
        securityhub=FakeSecurityHub(),  # type: ignore[arg-type]
        guardduty=FakeGuardDuty(),  # type: ignore[arg-type]
        health=FakeHealth(),  # type: ignore[arg-type]
        queues=queue_readers(dynamodb=dynamodb),
    )
    alert = alarm_alert("Errors", "AWS/Lambda", {"FunctionName": "ReservationsApi"}, threshold=20)

    section = gather_compute(StageInput(route="critical", alert=alert), readers, now=NOW, settings=Settings())

    throttling = section.fact("compute.dynamodb_throttling")
    assert throttling is not None and throttling.value == "at_capacity"
    assert throttling.via is not None and throttling.via.startswith("DynamoDB table reservations named in Lambda")
    assert "(RESERVATIONS_TABLE)" in throttling.via
    assert set(dynamodb.asked) == {"reservations"}  # LOG_LEVEL's value is never looked up
    assert any(line.startswith("Followed DynamoDB table reservations") for line in section.looked_at)


def test_a_queue_alarm_searches_its_consumers_log_group():
    logs = FakeLogs(
        groups={"/aws/lambda/OrdersConsumer"},
        rows=[log_row(1, "[ERROR] KeyError: 'shipping_address'")],
    )
    mappings = FakeMappings(found=[mapping("OrdersConsumer", sqs_arn("orders"), state="Enabled", batch_size=10)])
    readers = LogReaders(
        logs=logs,  # type: ignore[arg-type]
        cloudwatch=FakeCloudWatch(),  # type: ignore[arg-type]
        lambdas=FakeLambdas(),  # type: ignore[arg-type]
        mappings=mappings,  # type: ignore[arg-type]
        sqs=FakeSqs(),  # type: ignore[arg-type]
    )
    alert = alarm_alert("ApproximateAgeOfOldestMessage", "AWS/SQS", {"QueueName": "orders"}, threshold=600)

    section = gather_logs(StageInput(route="critical", alert=alert), readers, now=NOW, settings=Settings())

    assert logs.queries and logs.queries[0][0] == ["/aws/lambda/OrdersConsumer"]
    assert any("searched its consumer Lambda OrdersConsumer" in note for note in section.notes)
    pattern = section.fact("logs.pattern.1")
    assert pattern is not None and "shipping_address" in pattern.text


def test_a_dead_letter_queue_alarm_searches_the_logs_of_its_source_queues_consumer():
    logs = FakeLogs(groups={"/aws/lambda/OrdersConsumer"}, rows=[])
    sqs = FakeSqs(
        queues={
            "orders": QueueAttributes(
                name="orders", url="u1", arn=sqs_arn("orders"), dead_letter_queue_arn=sqs_arn("orders-dlq")
            ),
            "orders-dlq": QueueAttributes(name="orders-dlq", url="u2", arn=sqs_arn("orders-dlq"), visible=12),
        }
    )
    mappings = FakeMappings(found=[mapping("OrdersConsumer", sqs_arn("orders"))])
    readers = LogReaders(
        logs=logs,  # type: ignore[arg-type]
        cloudwatch=FakeCloudWatch(),  # type: ignore[arg-type]
        lambdas=FakeLambdas(),  # type: ignore[arg-type]
        mappings=mappings,  # type: ignore[arg-type]
        sqs=sqs,  # type: ignore[arg-type]
    )
    alert = alarm_alert("ApproximateNumberOfMessagesVisible", "AWS/SQS", {"QueueName": "orders-dlq"}, threshold=0)

    gather_logs(StageInput(route="critical", alert=alert), readers, now=NOW, settings=Settings())

    assert logs.queries and logs.queries[0][0] == ["/aws/lambda/OrdersConsumer"]


def test_bounding_a_section_keeps_each_fact_s_edge():
    from functions.shared.models import ContextSection, Fact
    from functions.shared.state_bounds import bound_section

    edge = "DynamoDB table reservations named in Lambda ReservationsApi's environment (RESERVATIONS_TABLE)"
    section = ContextSection(name="compute", status="ok", facts=[Fact(key="compute.table_config", text="t", via=edge)])

    assert bound_section(section).facts[0].via == edge
