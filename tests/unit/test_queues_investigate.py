"""SQS, DynamoDB and Lambda-connection investigations: the interpreters read numbers, the investigators find the
configuration and the neighbours, and the rules name the mechanism with its own next steps."""

from __future__ import annotations

from datetime import timedelta

from functions.analyze.rules import analyze_with_rules
from functions.shared.adapters.cloudwatch import MetricSeries
from functions.shared.adapters.queues import (
    IndexCapacity,
    QueueAttributes,
    TableDescription,
    TableScaling,
    parse_report_line,
)
from functions.shared.investigate.base import Evidence
from functions.shared.investigate.flow import FlowWindow, flow_window
from functions.shared.investigate.lambda_links import (
    lambda_memory_evidence,
    lambda_neighbours_evidence,
    memory_verdict,
)
from functions.shared.investigate.queues import queue_verdict, sqs_queue_evidence
from functions.shared.investigate.tables import dynamodb_table_evidence, throttling_verdict
from functions.shared.investigate.target import Target
from functions.shared.models import ContextSection, Fact, GatheredContext
from tests.support.gather_fakes import NOW, FakeCloudWatch, alarm_alert
from tests.support.queue_fakes import FakeDynamoDb, FakeMappings, FakeReports, FakeSqs, mapping, sqs_arn


def five_minute(before: list[float], recent: list[float]) -> list[tuple[float, float]]:
    """(minutes before NOW, value), oldest first, one point every 5 minutes, the last one at NOW."""
    values = before + recent
    return [((len(values) - 1 - i) * 5, v) for i, v in enumerate(values)]


def window(metric: str, baseline: float, recent: list[float], points: int = 27) -> FlowWindow:
    series = five_minute([baseline] * points, recent)
    stamped = [(NOW - timedelta(minutes=m), v) for m, v in series]
    return flow_window(
        metric,
        MetricSeries(id="x", stat="Sum", timestamps=[t for t, _ in stamped], values=[v for _, v in stamped]),
        NOW,
    )


def flow(sent: tuple[float, list[float]], deleted: tuple[float, list[float]], age: tuple[float, list[float]]):
    return {
        "NumberOfMessagesSent": window("NumberOfMessagesSent", *sent),
        "NumberOfMessagesDeleted": window("NumberOfMessagesDeleted", *deleted),
        "ApproximateAgeOfOldestMessage": window("ApproximateAgeOfOldestMessage", *age),
    }


# --- The queue interpreter -------------------------------------------------------------------------------------


def test_sent_steady_deleted_to_zero_and_age_climbing_is_a_consumer_stall():
    verdict = queue_verdict(
        flow((1200, [1200] * 9), (1190, [600, 40, 0, 0, 0, 0, 0, 0, 0]), (9, [120, 600, 1200, 1800, 2400])),
        has_consumer=True,
    )
    assert verdict.kind == "stall"
    assert verdict.deleted_recent == 0
    assert verdict.sent_recent == 1200
    assert verdict.age_latest == 2400


def test_a_busy_but_healthy_queue_is_not_a_stall():
    # Traffic triples, but deletes track sends and the oldest message stays young
    verdict = queue_verdict(
        flow((1000, [3000] * 9), (1000, [2950, 3010, 2990, 3000, 3000, 3005, 2995, 3000, 3000]), (5, [6, 8, 7])),
        has_consumer=True,
    )
    assert verdict.kind == "keeping_up"


def test_deletes_falling_behind_sends_with_a_growing_backlog_is_a_backlog_not_a_stall():
    verdict = queue_verdict(
        flow((600, [2400] * 9), (600, [900] * 9), (20, [200, 500, 900, 1200, 1600])), has_consumer=True
    )
    assert verdict.kind == "backlog"


def test_a_queue_nobody_consumes_never_stalls():
    # A dead-letter queue: messages arrive, nothing deletes them, ever
    verdict = queue_verdict(flow((0, [40] * 9), (0, [0] * 9), (0, [600, 1200, 1800])), has_consumer=False)
    assert verdict.kind == "unknown"


def test_a_quiet_queue_says_nothing():
    verdict = queue_verdict(flow((0, [0] * 9), (0, [0] * 9), (0, [0] * 9)), has_consumer=True)
    assert verdict.kind == "unknown"


# --- The SQS investigator --------------------------------------------------------------------------------------


def stalled_queue_readers():
    sqs = FakeSqs(
        queues={
            "orders": QueueAttributes(
                name="orders",
                url="https://sqs.us-east-1.amazonaws.com/123456789012/orders",
                arn=sqs_arn("orders"),
                visible=1500,
                in_flight=10,
                visibility_timeout_seconds=180,
                retention_seconds=345600,
                dead_letter_queue_arn=sqs_arn("orders-dlq"),
                max_receive_count=3,
            ),
            "orders-dlq": QueueAttributes(
                name="orders-dlq",
                url="https://sqs.us-east-1.amazonaws.com/123456789012/orders-dlq",
                arn=sqs_arn("orders-dlq"),
                visible=340,
            ),
        }
    )
    mappings = FakeMappings(
        found=[
            mapping(
                "OrdersConsumer",
                sqs_arn("orders"),
                state="Enabled",
                batch_size=10,
                last_processing_result="PROBLEM: Function call failed",
            )
        ]
    )
    cloudwatch = FakeCloudWatch(
        series={
            "NumberOfMessagesSent": five_minute([1200] * 27, [1200] * 9),
            "NumberOfMessagesDeleted": five_minute([1190] * 27, [600, 40, 0, 0, 0, 0, 0, 0, 0]),
            "ApproximateAgeOfOldestMessage": five_minute([9] * 27, [120, 600, 1200, 1800, 2400]),
        }
    )
    return sqs, mappings, cloudwatch


def test_sqs_investigator_reports_redrive_dlq_depth_consumer_and_the_stall():
    sqs, mappings, cloudwatch = stalled_queue_readers()

    evidence = sqs_queue_evidence(sqs, mappings, cloudwatch, Target.of("sqs", "orders", "us-east-1"), now=NOW)  # type: ignore[arg-type]

    stall = evidence.fact("compute.queue_stall")
    assert stall is not None and evidence.facts[0] is stall
    assert stall.subject == "orders" and stall.numbers is not None and stall.numbers.value == 0
    assert "OrdersConsumer" in stall.text
    config = evidence.fact("compute.queue_config")
    assert config is not None and "visibility timeout 180 s" in config.text
    assert "redrive to orders-dlq after 3 receives" in config.text
    dlq = evidence.fact("compute.dead_letter_queue")
    assert dlq is not None and dlq.value == 340
    consumer = evidence.fact("compute.queue_consumer")
    assert consumer is not None and "PROBLEM: Function call failed" in consumer.text
    assert [(n.target.kind, n.target.name) for n in evidence.neighbours] == [
        ("lambda", "OrdersConsumer"),
        ("sqs", "orders-dlq"),
    ]
    assert evidence.neighbours[0].edge == "consumer of SQS queue orders (event source mapping, batch size 10)"


def test_a_missing_queue_is_reported_not_guessed():
    evidence = sqs_queue_evidence(
        FakeSqs(),  # type: ignore[arg-type]
        FakeMappings(),  # type: ignore[arg-type]
        FakeCloudWatch(),  # type: ignore[arg-type]
        Target.of("sqs", "gone", "us-east-1"),
        now=NOW,
    )
    assert evidence.facts == [] and evidence.neighbours == []
    assert "No SQS queue named gone" in evidence.notes[0]


# --- The DynamoDB investigator ---------------------------------------------------------------------------------


def provisioned(write_units: int = 100) -> TableDescription:
    return TableDescription(
        name="carts",
        billing_mode="PROVISIONED",
        read_units=200,
        write_units=write_units,
        indexes=[IndexCapacity(name="by-customer", read_units=50, write_units=100)],
    )


def table_flow(consumed_peak: float, throttles: float):
    return {
        "ConsumedWriteCapacityUnits": window("ConsumedWriteCapacityUnits", 12000, [20000, consumed_peak]),
        "WriteThrottleEvents": window("WriteThrottleEvents", 0, [0, throttles]),
        "ConsumedReadCapacityUnits": window("ConsumedReadCapacityUnits", 18000, [18000]),
        "ReadThrottleEvents": window("ReadThrottleEvents", 0, [0]),
    }


def test_throttling_at_the_provisioned_units_is_at_capacity():
    verdict = throttling_verdict(provisioned(100), table_flow(30000, 2600))  # 30,000 per 5 min = 100 WCU/s
    assert verdict is not None
    assert (verdict.side, verdict.mechanism, verdict.provisioned) == ("write", "at_capacity", 100)
    assert verdict.consumed_per_second == 100


def test_throttling_well_below_the_provisioned_units_is_a_hot_key():
    verdict = throttling_verdict(provisioned(1000), table_flow(30000, 800))  # 100 of 1,000 WCU/s
    assert verdict is not None and verdict.mechanism == "hot_key"


def test_no_throttle_events_no_verdict():
    assert throttling_verdict(provisioned(100), table_flow(30000, 0)) is None


def test_dynamodb_investigator_states_capacity_mode_and_throttling():
    cloudwatch = FakeCloudWatch(
        series={
            "ConsumedWriteCapacityUnits": five_minute([12000] * 30, [21000, 29800, 30000]),
            "WriteThrottleEvents": five_minute([0] * 30, [120, 1900, 2600]),
        }
    )
    evidence = dynamodb_table_evidence(
        FakeDynamoDb(tables={"carts": provisioned()}),  # type: ignore[arg-type]
        FakeMappings(),  # type: ignore[arg-type]
        cloudwatch,  # type: ignore[arg-type]
        Target.of("dynamodb", "carts", "us-east-1"),
        now=NOW,
    )
    throttling = evidence.facts[0]
    assert throttling.key == "compute.dynamodb_throttling" and throttling.value == "at_capacity"
    assert throttling.numbers is not None and throttling.numbers.threshold == 100 and throttling.numbers.crossed
    config = evidence.fact("compute.table_config")
    assert config is not None and "PROVISIONED 200 RCU / 100 WCU" in config.text and "by-customer" in config.text
    assert "no auto scaling" in config.text


def test_the_table_s_auto_scaling_range_is_stated():
    evidence = dynamodb_table_evidence(
        FakeDynamoDb(tables={"carts": provisioned()}, scalings={"carts": TableScaling(write_min=20, write_max=100)}),  # type: ignore[arg-type]
        FakeMappings(),  # type: ignore[arg-type]
        FakeCloudWatch(),  # type: ignore[arg-type]
        Target.of("dynamodb", "carts", "us-east-1"),
        now=NOW,
    )
    config = evidence.fact("compute.table_config")
    assert config is not None and "auto scaling writes 20-100 WCU" in config.text


# --- Lambda neighbours and memory ------------------------------------------------------------------------------


def test_lambda_neighbours_come_from_event_sources_and_confirmed_environment_values():
    configuration = {
        "Environment": {
            "Variables": {
                "JOBS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/render-jobs",
                "DB_HOST": "orders-db.c9akciq32xyz.us-east-1.rds.amazonaws.com",
                "ORDERS_TABLE": "orders",
                "AUDIT_TABLE": "not-a-real-table",
                "LOG_LEVEL": "INFO",
            }
        }
    }
    dynamodb = FakeDynamoDb(tables={"orders": TableDescription(name="orders", billing_mode="PAY_PER_REQUEST")})
    mappings = FakeMappings(found=[mapping("Renderer", sqs_arn("render-requests"), state="Enabled", batch_size=5)])

    evidence = lambda_neighbours_evidence("Renderer", configuration, mappings, dynamodb, region="us-east-1")  # type: ignore[arg-type]

    found = {(n.target.kind, n.target.name) for n in evidence.neighbours}
    assert found == {
        ("sqs", "render-requests"),
        ("sqs", "render-jobs"),
        ("rds_instance", "orders-db"),
        ("dynamodb", "orders"),
    }
    assert sorted(dynamodb.asked) == ["not-a-real-table", "orders"]  # LOG_LEVEL is never looked up
    assert all("c9akciq32xyz" not in n.edge for n in evidence.neighbours)  # values are not quoted
    sources = evidence.fact("compute.lambda_sources")
    assert sources is not None and "SQS queue render-requests" in sources.text


def test_lambda_neighbours_are_bounded():
    variables = {f"QUEUE_{i}": f"https://sqs.us-east-1.amazonaws.com/123456789012/q{i}" for i in range(9)}
    evidence = lambda_neighbours_evidence(
        "Fan",
        {"Environment": {"Variables": variables}},
        FakeMappings(),  # type: ignore[arg-type]
        FakeDynamoDb(),  # type: ignore[arg-type]
        region=None,
    )
    assert len(evidence.neighbours) == 4


def report(used: int, size: int = 1024, *, minutes_ago: float = 1, error_type: str | None = None):
    line = (
        f"REPORT RequestId: 6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c9d\tDuration: 8112.54 ms\tBilled Duration: 8113 ms\t"
        f"Memory Size: {size} MB\tMax Memory Used: {used} MB\t"
    )
    if error_type:
        line += f"Status: error\tError Type: {error_type}"
    parsed = parse_report_line(line, NOW - timedelta(minutes=minutes_ago))
    assert parsed is not None
    return parsed


def test_report_lines_are_parsed_field_by_field():
    line = report(1024, error_type="Runtime.OutOfMemory")
    assert (line.duration_ms, line.memory_size_mb, line.max_memory_used_mb) == (8112.54, 1024, 1024)
    assert (line.status, line.error_type) == ("error", "Runtime.OutOfMemory")
    assert parse_report_line("START RequestId: 1 Version: $LATEST", NOW) is None


def test_max_memory_used_at_the_memory_size_is_out_of_memory():
    verdict = memory_verdict([report(688), report(1024, error_type="Runtime.OutOfMemory"), report(1010)], 1024)
    assert verdict is not None and verdict.out_of_memory == 2 and verdict.max_used_mb == 1024


def test_comfortable_memory_is_no_finding():
    reports = FakeReports(lines={"/aws/lambda/Fn": [report(400), report(520)]})
    evidence = lambda_memory_evidence(reports, "Fn", "/aws/lambda/Fn", 1024, now=NOW)  # type: ignore[arg-type]
    assert evidence.facts == []


def test_out_of_memory_fact_carries_used_and_size():
    reports = FakeReports(lines={"/aws/lambda/Fn": [report(700), report(1024, error_type="Runtime.OutOfMemory")]})
    evidence = lambda_memory_evidence(reports, "Fn", "/aws/lambda/Fn", 1024, now=NOW)  # type: ignore[arg-type]
    fact = evidence.fact("compute.out_of_memory")
    assert fact is not None and fact.value == 1
    assert fact.numbers is not None and (fact.numbers.value, fact.numbers.threshold) == (1024, 1024)
    assert "Runtime.OutOfMemory" in fact.text


# --- The rules -------------------------------------------------------------------------------------------------


def compute(evidence: Evidence) -> GatheredContext:
    return GatheredContext(compute=ContextSection(name="compute", status="ok", facts=evidence.facts))


def test_a_stall_is_blamed_on_the_consumer_with_a_redrive_not_more_capacity():
    sqs, mappings, cloudwatch = stalled_queue_readers()
    evidence = sqs_queue_evidence(sqs, mappings, cloudwatch, Target.of("sqs", "orders", "us-east-1"), now=NOW)  # type: ignore[arg-type]
    alert = alarm_alert("ApproximateAgeOfOldestMessage", "AWS/SQS", {"QueueName": "orders"}, threshold=600)

    analysis = analyze_with_rules(alert, compute(evidence), now=NOW)

    assert analysis.root_cause.startswith("The consumer of SQS queue orders has stalled")
    assert "OrdersConsumer" in analysis.root_cause and "orders-dlq holds 340" in analysis.root_cause
    assert "capacity" not in analysis.root_cause
    assert any("redrive orders-dlq back to orders" in r for r in analysis.recommendations)
    assert any("sqs get-queue-url --queue-name orders" in c for c in analysis.diagnostics)
    assert any(
        "lambda list-event-source-mappings --event-source-arn arn:aws:sqs:us-east-1:123456789012:orders" in c
        for c in analysis.diagnostics
    )
    assert not any("ec2" in c or "dynamodb" in c for c in analysis.diagnostics)  # never another type's playbook


def test_a_healthy_busy_queue_gets_no_queue_finding():
    sqs, mappings, _ = stalled_queue_readers()
    cloudwatch = FakeCloudWatch(
        series={
            "NumberOfMessagesSent": five_minute([1000] * 27, [3000] * 9),
            "NumberOfMessagesDeleted": five_minute([1000] * 27, [3000] * 9),
            "ApproximateAgeOfOldestMessage": five_minute([5] * 27, [6, 7, 6]),
        }
    )
    evidence = sqs_queue_evidence(sqs, mappings, cloudwatch, Target.of("sqs", "orders", "us-east-1"), now=NOW)  # type: ignore[arg-type]
    assert evidence.fact("compute.queue_stall") is None and evidence.fact("compute.queue_backlog") is None
    assert any("keep up" in note for note in evidence.notes)
    alert = alarm_alert("NumberOfMessagesSent", "AWS/SQS", {"QueueName": "orders"}, threshold=2000)
    analysis = analyze_with_rules(alert, compute(evidence), now=NOW)
    assert "stall" not in analysis.root_cause and "backing up" not in analysis.root_cause


def test_table_throttling_at_capacity_asks_for_capacity_not_a_code_fix():
    cloudwatch = FakeCloudWatch(
        series={
            "ConsumedWriteCapacityUnits": five_minute([12000] * 30, [21000, 29800, 30000]),
            "WriteThrottleEvents": five_minute([0] * 30, [120, 1900, 2600]),
        }
    )
    evidence = dynamodb_table_evidence(
        FakeDynamoDb(tables={"carts": provisioned()}),  # type: ignore[arg-type]
        FakeMappings(),  # type: ignore[arg-type]
        cloudwatch,  # type: ignore[arg-type]
        Target.of("dynamodb", "carts", "us-east-1"),
        now=NOW,
    )
    alert = alarm_alert("WriteThrottleEvents", "AWS/DynamoDB", {"TableName": "carts"}, threshold=100)

    analysis = analyze_with_rules(alert, compute(evidence), now=NOW)

    assert "carts throttles writes at its provisioned capacity" in analysis.root_cause
    assert "100 WCU" in analysis.root_cause
    assert "provisioned capacity" in analysis.recommendations[0] and "on-demand" in analysis.recommendations[0]
    assert any("dynamodb describe-table --table-name carts" in c for c in analysis.diagnostics)
    assert not any(" sqs " in c for c in analysis.diagnostics)


def test_out_of_memory_names_the_memory_setting():
    reports = FakeReports(lines={"/aws/lambda/Fn": [report(700), report(1024, error_type="Runtime.OutOfMemory")]})
    evidence = lambda_memory_evidence(reports, "Fn", "/aws/lambda/Fn", 1024, now=NOW)  # type: ignore[arg-type]
    alert = alarm_alert("Errors", "AWS/Lambda", {"FunctionName": "Fn"}, threshold=5)

    analysis = analyze_with_rules(alert, compute(evidence), now=NOW)

    assert analysis.root_cause.startswith("Fn runs out of memory")
    assert "1,024 MB Memory Size" in analysis.root_cause
    assert "Raise Fn's memory above 1024 MB" in analysis.recommendations[0]
    assert any("Runtime.OutOfMemory" in c and "filter-log-events" in c for c in analysis.diagnostics)


def test_a_dead_letter_queue_leads_to_its_source_queue_and_the_rule_blames_the_consumer():
    sqs, mappings, _ = stalled_queue_readers()
    evidence = sqs_queue_evidence(sqs, mappings, FakeCloudWatch(), Target.of("sqs", "orders-dlq", "us-east-1"), now=NOW)  # type: ignore[arg-type]

    sources = evidence.fact("compute.dead_letter_sources")
    assert sources is not None and sources.value == "orders" and "holds 340 messages" in sources.text
    assert [(n.target.kind, n.target.name) for n in evidence.neighbours] == [("sqs", "orders")]
    assert evidence.fact("compute.queue_stall") is None  # nobody consumes a DLQ: it does not "stall"

    alert = alarm_alert("ApproximateNumberOfMessagesVisible", "AWS/SQS", {"QueueName": "orders-dlq"}, threshold=0)
    analysis = analyze_with_rules(alert, compute(evidence), now=NOW)
    assert analysis.root_cause.startswith("Messages from SQS queue orders are failing")
    assert any("redrive orders-dlq back to orders" in r for r in analysis.recommendations)


def test_a_throttling_neighbour_table_is_not_blamed_for_errors_after_a_deploy():
    cloudwatch = FakeCloudWatch(
        series={
            "ConsumedWriteCapacityUnits": five_minute([12000] * 30, [12000, 12000]),
            "WriteThrottleEvents": five_minute([0] * 30, [3, 5]),
        }
    )
    table = dynamodb_table_evidence(
        FakeDynamoDb(tables={"carts": provisioned(1000)}),  # type: ignore[arg-type]
        FakeMappings(),  # type: ignore[arg-type]
        cloudwatch,  # type: ignore[arg-type]
        Target.of("dynamodb", "carts", "us-east-1"),
        now=NOW,
    )
    for fact in table.facts:
        fact.via = "DynamoDB table carts named in Lambda CartService's environment (CARTS_TABLE)"
    assert table.fact("compute.dynamodb_throttling") is not None
    context = GatheredContext(
        compute=ContextSection(
            name="compute",
            status="ok",
            facts=[
                *table.facts,
                Fact(key="compute.recent_change", text="Recent change: CartService updated 12 min ago", value=12),
            ],
        )
    )
    alert = alarm_alert("Errors", "AWS/Lambda", {"FunctionName": "CartService"}, threshold=5)
    analysis = analyze_with_rules(alert, context, now=NOW)
    assert "throttl" not in analysis.root_cause
