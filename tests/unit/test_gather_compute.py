"""The compute playbooks: alarm metric around the breach, related metrics, config changes, drill from spend."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from functions.gather_compute.logic import ComputeReaders, gather_compute
from functions.shared.alert_details import details_for
from functions.shared.errors import AwsReadDeniedError
from functions.shared.models import Alert, ResourceRef, StageInput
from functions.shared.settings import Settings
from tests.support.gather_fakes import (
    NOW,
    FakeCloudWatch,
    FakeEc2,
    FakeGuardDuty,
    FakeHealth,
    FakeLambdas,
    FakeLogGroups,
    FakeMetricCatalog,
    FakeNatGateways,
    FakeSecurityHub,
    alarm_alert,
    budget_alert,
)
from tests.support.queue_fakes import queue_readers


def five_minute(baseline: float, recent: list[float], points: int = 30) -> list[tuple[float, float]]:
    """Oldest first: `points` of the baseline, then the recent values ending at NOW."""
    values = [baseline] * points + recent
    return [((len(values) - 1 - i) * 5, v) for i, v in enumerate(values)]


def readers(**overrides):
    parts = {
        "cloudwatch": FakeCloudWatch(),
        "lambdas": FakeLambdas(),
        "ec2": FakeEc2(),
        "securityhub": FakeSecurityHub(),
        "guardduty": FakeGuardDuty(),
        "health": FakeHealth(),
        "nat_gateways": FakeNatGateways(),
        "log_groups": FakeLogGroups(),
        "metric_catalog": FakeMetricCatalog(),
        "queues": queue_readers(),
    }
    parts.update(overrides)
    return ComputeReaders(**parts)  # type: ignore[arg-type]


def run(alert: Alert, compute_readers: ComputeReaders, route="critical"):
    return gather_compute(StageInput(route=route, alert=alert), compute_readers, now=NOW, settings=Settings())


def test_alarm_reports_its_metric_peak_vs_baseline_and_a_recent_deploy():
    # Given Errors jumping after CheckoutService was changed 27 minutes ago
    cloudwatch = FakeCloudWatch(
        series={
            "Errors": five_minute(0, [45, 160, 240]),
            "Invocations": five_minute(2000, [2000, 2000, 2000]),
        }
    )
    modified = (NOW - timedelta(minutes=27)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    lambdas = FakeLambdas(
        functions={
            "CheckoutService": {"Runtime": "python3.12", "MemorySize": 512, "Timeout": 15, "LastModified": modified}
        }
    )
    alert = alarm_alert("Errors", "AWS/Lambda", {"FunctionName": "CheckoutService"}, threshold=25)

    # When the compute branch runs
    section = run(alert, readers(cloudwatch=cloudwatch, lambdas=lambdas))

    # Then the alarm's metric leads, then the recent change, then related metrics and the configuration
    assert section.status == "ok"
    assert [f.key for f in section.facts][:2] == ["compute.alarm_metric", "compute.recent_change"]
    assert "peak 240" in section.facts[0].text and "threshold 25" in section.facts[0].text
    assert section.facts[1].value == 27
    assert section.fact("compute.metric.Invocations") is not None
    assert section.fact("compute.metric.Errors") is None  # the alarm's own metric is not repeated
    assert any("No datapoints" in note and "Throttles" in note for note in section.notes)


def test_threshold_never_crossed_is_stated():
    # Given an alarm whose metric stayed at zero
    cloudwatch = FakeCloudWatch(series={"Errors": five_minute(0, [0, 0])})
    alert = alarm_alert("Errors", "AWS/Lambda", {"FunctionName": "ReportGenerator"}, threshold=5)

    # When the compute branch runs
    section = run(alert, readers(cloudwatch=cloudwatch))

    # Then the alarm metric fact says the threshold was not crossed in the window
    fact = section.fact("compute.alarm_metric")
    assert fact is not None and "not crossed" in fact.text


def test_budget_alert_drills_to_the_lambda_whose_invocations_grew():
    # Given two functions, one with four times the invocations of the day before
    hourly_storm = [(m * 60.0, 14400.0) for m in range(24, 48)] + [(m * 60.0, 57600.0) for m in range(0, 24)]
    cloudwatch = FakeCloudWatch(
        series={
            "Invocations:ImageProcessor": hourly_storm,
            "Invocations:OrdersApi": [(m * 60.0, 3000.0) for m in range(48)],
            "Errors:ImageProcessor": [(m * 60.0, 12.0) for m in range(24, 48)]
            + [(m * 60.0, 8640.0) for m in range(24)],
        }
    )
    lambdas = FakeLambdas(functions={"OrdersApi": {}, "ImageProcessor": {"Runtime": "python3.12"}})

    # When the compute branch runs for the budget alert
    section = run(budget_alert(), readers(cloudwatch=cloudwatch, lambdas=lambdas))

    # Then the top mover is named first with its growth, and its related metrics follow
    mover = section.facts[0]
    assert mover.key == "compute.lambda_mover"
    assert "ImageProcessor" in mover.text and "+300%" in mover.text
    errors = section.fact("compute.metric.Errors")
    assert errors is not None and "8,640" in errors.text


def test_budget_alert_lists_ec2_capacity_launched_in_the_last_two_weeks():
    # Given two load-test instances launched six days ago and an old one
    def launched(days: float, name: str, kind: str) -> dict:
        return {
            "InstanceId": f"i-{name}",
            "InstanceType": kind,
            "LaunchTime": NOW - timedelta(days=days),
            "State": {"Name": "running"},
            "Tags": [{"Key": "Name", "Value": name}],
        }

    ec2 = FakeEc2(
        instances={
            "a": launched(6, "loadtest-1", "c6i.xlarge"),
            "b": launched(6, "loadtest-2", "c6i.xlarge"),
            "c": launched(90, "api-1", "t3.large"),
        }
    )

    # When the compute branch runs for the budget alert
    section = run(budget_alert(), readers(ec2=ec2))

    # Then the new capacity is named by type, the old instance is not
    fact = section.fact("compute.recent_launches")
    assert fact is not None and fact.value == 2
    assert "2x c6i.xlarge (loadtest-1, loadtest-2)" in fact.text and "api-1" not in fact.text
    assert "6 days ago" in fact.text


def test_ec2_alarm_describes_the_instance_and_its_status_checks():
    # Given a saturated instance
    cloudwatch = FakeCloudWatch(series={"CPUUtilization": five_minute(35, [97, 99])})
    ec2 = FakeEc2(
        instances={
            "i-0c1d2e3f4a5b6c7d8": {
                "State": {"Name": "running"},
                "InstanceType": "t3.large",
                "Tags": [{"Key": "Name", "Value": "web-api-1"}],
            }
        },
        statuses={"i-0c1d2e3f4a5b6c7d8": {"SystemStatus": {"Status": "ok"}, "InstanceStatus": {"Status": "ok"}}},
    )
    alert = alarm_alert("CPUUtilization", "AWS/EC2", {"InstanceId": "i-0c1d2e3f4a5b6c7d8"}, threshold=90)

    # When the compute branch runs
    section = run(alert, readers(cloudwatch=cloudwatch, ec2=ec2))

    # Then it names the instance and its checks
    instance = section.fact("compute.instance")
    assert instance is not None and "web-api-1" in instance.text and "running" in instance.text
    assert section.fact("compute.status_checks") is not None


def test_denied_metrics_name_the_permission():
    # Given CloudWatch access denied
    cloudwatch = FakeCloudWatch(error=AwsReadDeniedError("cloudwatch:GetMetricData"))
    alert = alarm_alert("Errors", "AWS/Lambda", {"FunctionName": "f"})

    # When the compute branch runs
    section = run(alert, readers(cloudwatch=cloudwatch))

    # Then the section says which permission is missing
    assert any("cloudwatch:GetMetricData" in note for note in section.notes) or (
        section.error is not None and "cloudwatch:GetMetricData" in section.error
    )


def test_guardduty_finding_counts_similar_findings_from_security_hub():
    # Given a GuardDuty finding and three like it in Security Hub, one on another instance
    asff_type = "TTPs/Discovery/Recon:EC2-PortProbeUnprotectedPort"
    found: list[dict[str, Any]] = [
        {
            "Id": "arn:x/finding/abc",
            "Types": [asff_type],
            "Resources": [{"Id": "arn:aws:ec2:r:a:instance/i-0aaaaaaaaaaaaaaa1"}],
        },
        {
            "Id": "arn:x/finding/def",
            "Types": [asff_type],
            "Resources": [{"Id": "arn:aws:ec2:r:a:instance/i-0bbbbbbbbbbbbbbb2"}],
        },
        {"Id": "arn:x/finding/other", "Types": ["TTPs/Other"], "Resources": []},
    ]
    alert = Alert(
        source="guardduty",
        alert_type="Recon:EC2/PortProbeUnprotectedPort",
        severity="warning",
        title="GuardDuty Medium: port probe",
        region="us-east-1",
        resource=ResourceRef(type="AWS::EC2::Instance", name="i-0aaaaaaaaaaaaaaa1"),
        details=details_for(
            "guardduty",
            {"finding_id": "abc", "finding_type": "Recon:EC2/PortProbeUnprotectedPort", "severity_score": 5},
        ),
        dedup_key="gd-1",
    )

    # When the compute branch runs locally (no GuardDuty findings API)
    section = run(alert, readers(securityhub=FakeSecurityHub(found=found)))

    # Then it counts the two similar findings and names the other instance
    similar = section.fact("security.similar_findings")
    assert similar is not None and similar.value == 2
    assert "i-0bbbbbbbbbbbbbbb2" in similar.text


def test_heartbeat_is_skipped():
    section = run(budget_alert(), readers(), route="heartbeat")
    assert section.status == "skipped"


def test_the_graph_walk_follows_neighbours_to_depth_two_and_records_each_edge(monkeypatch):
    # Given a queue whose investigator names its consumer function, whose investigator names a table, whose
    # investigator names yet another resource (depth 3, which the walk must not visit)
    from functions.gather_compute import logic
    from functions.shared.investigate.base import Evidence, Neighbour
    from functions.shared.investigate.target import Target
    from functions.shared.models import Fact

    graph = {
        "orders": Neighbour(target=Target.of("lambda", "OrderWorker"), edge="consumer of SQS queue orders (ESM)"),
        "OrderWorker": Neighbour(target=Target.of("dynamodb", "Orders"), edge="table OrderWorker writes (env)"),
        "Orders": Neighbour(target=Target.of("sqs", "too-far"), edge="depth three"),
    }
    visited: list[str] = []

    def investigate(_readers: Any, target: Target, _now: Any) -> Evidence:
        visited.append(target.name)
        found = Evidence(facts=[Fact(key=f"compute.config.{target.kind}", text=f"config of {target.kind}")])
        if target.name in graph:
            found.neighbours.append(graph[target.name])
        return found

    for name in ("metrics_only", "lambda_function", "sqs_queue", "dynamodb_table"):
        monkeypatch.setitem(logic.RESOURCE_INVESTIGATORS, name, investigate)
    alert = alarm_alert("ApproximateAgeOfOldestMessage", "AWS/SQS", {"QueueName": "orders"}, threshold=300)

    # When the compute branch runs
    section = run(alert, readers())

    # Then it visited the queue, its consumer and the consumer's table, not the resource three hops away
    assert visited == ["orders", "OrderWorker", "Orders"]
    by_key = {f.key: f for f in section.facts}
    assert by_key["compute.config.sqs"].via is None
    assert by_key["compute.config.lambda"].via == "consumer of SQS queue orders (ESM)"
    assert by_key["compute.config.lambda"].text.startswith("OrderWorker: ")
    assert by_key["compute.config.dynamodb"].via == "table OrderWorker writes (env)"
    assert any("Followed consumer of SQS queue orders" in line for line in section.looked_at)


def test_the_graph_walk_visits_each_resource_once_and_at_most_its_budget(monkeypatch):
    # Given a function whose investigator names many neighbours, one of them itself
    from functions.gather_compute import logic
    from functions.shared.investigate.base import Evidence, Neighbour
    from functions.shared.investigate.target import Target

    visited: list[str] = []

    def investigate(_readers: Any, target: Target, _now: Any) -> Evidence:
        visited.append(target.name)
        found = Evidence()
        if target.name == "Api":
            found.neighbours.append(Neighbour(target=Target.of("lambda", "Api"), edge="itself"))
            found.neighbours.extend(
                Neighbour(target=Target.of("sqs", f"queue-{i}"), edge=f"queue {i}") for i in range(10)
            )
        return found

    for name in ("metrics_only", "lambda_function", "sqs_queue", "dynamodb_table"):
        monkeypatch.setitem(logic.RESOURCE_INVESTIGATORS, name, investigate)
    alert = alarm_alert("Errors", "AWS/Lambda", {"FunctionName": "Api"}, threshold=1)

    run(alert, readers())

    assert visited[0] == "Api" and visited.count("Api") == 1
    assert len(visited) == 1 + logic.MAX_NEIGHBOURS_VISITED


def test_a_composite_alarm_leads_to_its_firing_child_and_the_resource_that_child_watches():
    # Given a composite alarm over two children, one in ALARM on CheckoutService's Errors, one OK
    from functions.shared.alert_details import CloudWatchAlarmDetails

    cloudwatch = FakeCloudWatch(
        series={"Errors": five_minute(0, [45, 160, 240]), "Invocations": five_minute(2000, [2000, 2000, 2000])},
        alarms={
            "CheckoutService-Errors": {
                "AlarmName": "CheckoutService-Errors",
                "StateValue": "ALARM",
                "StateReason": "Threshold Crossed: 1 datapoint [240.0] was greater than the threshold (25.0).",
                "Namespace": "AWS/Lambda",
                "MetricName": "Errors",
                "Dimensions": [{"Name": "FunctionName", "Value": "CheckoutService"}],
                "Statistic": "Sum",
                "Period": 300,
                "Threshold": 25.0,
                "ComparisonOperator": "GreaterThanThreshold",
            },
            "CheckoutService-Latency": {
                "AlarmName": "CheckoutService-Latency",
                "StateValue": "OK",
                "Namespace": "AWS/Lambda",
                "MetricName": "Duration",
                "Dimensions": [{"Name": "FunctionName", "Value": "CheckoutService"}],
            },
        },
    )
    lambdas = FakeLambdas(functions={"CheckoutService": {"Runtime": "python3.12", "MemorySize": 512, "Timeout": 15}})
    alert = alarm_alert("Errors", "AWS/Lambda", {}, threshold=None)
    alert = alert.model_copy(
        update={
            "details": CloudWatchAlarmDetails(
                alarm_name="Checkout-Degraded",
                alarm_kind="composite",
                state="ALARM",
                alarm_rule='ALARM("CheckoutService-Errors") AND ALARM(CheckoutService-Latency)',
            )
        }
    )

    # When the compute branch runs
    section = run(alert, readers(cloudwatch=cloudwatch, lambdas=lambdas))

    # Then each child is a fact, and the firing child's metric and function were investigated
    children = [f for f in section.facts if f.key.startswith("compute.child_alarm")]
    assert [(f.subject, f.value) for f in children] == [
        ("CheckoutService-Errors", "ALARM"),
        ("CheckoutService-Latency", "OK"),
    ]
    assert all(f.link and "alarmsV2:alarm/" in f.link for f in children)
    firing = section.fact("compute.child_alarm.firing")
    assert firing is not None and firing.resource is not None and firing.resource.name == "CheckoutService"
    assert "peak 240" in section.fact("compute.alarm_metric").text
    assert section.fact("compute.lambda_config") is not None


def test_a_composite_alarm_rule_is_parsed_for_names_and_arns_only():
    from functions.shared.alert_details import CloudWatchAlarmDetails
    from functions.shared.investigate.composite import child_alarm_names

    details = CloudWatchAlarmDetails(
        alarm_name="Parent",
        alarm_kind="composite",
        triggering_alarms=["arn:aws:cloudwatch:us-east-1:123456789012:alarm:db-cpu"],
        alarm_rule='(ALARM("db-cpu") OR OK(\'api-5xx\')) AND NOT INSUFFICIENT_DATA(Parent) AND ALARM("a\x07b")',
    )
    assert child_alarm_names(details) == ["db-cpu", "api-5xx"]
