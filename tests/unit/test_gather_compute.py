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
    FakeSecurityHub,
    alarm_alert,
    budget_alert,
)


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
