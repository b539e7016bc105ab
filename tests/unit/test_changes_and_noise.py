"""What changed (CloudTrail write events as facts) and the noisy-alarm forms, from the gather side to the rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from functions.analyze.rules import analyze_with_rules
from functions.gather_compute.logic import ComputeReaders, gather_compute
from functions.shared.adapters.cloudtrail import TrailEvent
from functions.shared.errors import GatherThrottledError
from functions.shared.investigate.changes import (
    MAX_LOOKUPS,
    ChangeSubject,
    change_subjects_of,
    secrets_named_by,
    what_changed_evidence,
)
from functions.shared.investigate.metrics import MetricWindow
from functions.shared.investigate.noise import alarm_noise_evidence
from functions.shared.models import ContextSection, Fact, GatheredContext, Measurement, StageInput
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
)

AT = NOW - timedelta(minutes=5)  # when `alarm_alert` fired


def trail_event(name: str, minutes_before_alert: float, *, user: str = "alice", **parameters: Any) -> TrailEvent:
    return TrailEvent(
        event_id=f"id-{name}-{minutes_before_alert}",
        event_name=name,
        event_source="lambda.amazonaws.com",
        event_time=AT - timedelta(minutes=minutes_before_alert),
        username=user,
        read_only=False,
        request_parameters=parameters,
        user_agent="console.amazonaws.com",
    )


@dataclass
class FakeTrail:
    events: dict[str, list[TrailEvent]] = field(default_factory=dict)
    looked_up: list[str] = field(default_factory=list)
    throttle_after: int | None = None

    def write_events(
        self, resource_name: str, *, start: datetime, end: datetime, max_pages: int = 2
    ) -> list[TrailEvent]:
        if self.throttle_after is not None and len(self.looked_up) >= self.throttle_after:
            raise GatherThrottledError("cloudtrail:LookupEvents was throttled (ThrottlingException)")
        self.looked_up.append(resource_name)
        found = [e for e in self.events.get(resource_name, []) if start <= e.event_time <= end]
        return sorted(found, key=lambda e: e.event_time, reverse=True)

    def events_named(self, event_name: str, *, start: datetime, end: datetime, max_pages: int = 2) -> list[TrailEvent]:
        self.looked_up.append(event_name)
        found = [
            e
            for events in self.events.values()
            for e in events
            if e.event_name == event_name and start <= e.event_time <= end
        ]
        return sorted(found, key=lambda e: e.event_time, reverse=True)


def window(peak: float, latest: float, baseline: float = 30.0) -> MetricWindow:
    return MetricWindow(
        namespace="AWS/EC2", metric_name="CPUUtilization", stat="Average", period_seconds=300, points=36,
        baseline=baseline, peak=peak, latest=latest,
    )  # fmt: skip


def cpu_alarm(**extra: Any):  # type: ignore[no-untyped-def]
    return alarm_alert("CPUUtilization", "AWS/EC2", {"InstanceId": "i-0a9b8c7d6e5f4a3b2"}, threshold=80, **extra)


def forms(evidence) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.value for f in evidence.facts]


# --- What changed ------------------------------------------------------------------------------------------------


def test_recorded_writes_become_facts_with_who_what_and_minutes_before_the_alert():
    trail = FakeTrail(
        events={
            "InventorySync": [
                trail_event("UpdateFunctionConfiguration20150331v2", 12, user="alice.nguyen", timeout=3),
                trail_event("TagResource20170331v2", 200),
            ]
        }
    )

    evidence = what_changed_evidence(trail, [ChangeSubject(name="InventorySync")], at=AT, now=NOW)

    first = evidence.fact("compute.change.1")
    assert first is not None and first.subject == "InventorySync"
    assert first.text.startswith("UpdateFunctionConfiguration20150331v2 on InventorySync by alice.nguyen")
    assert "in the console" in first.text and "timeout=3" in first.text
    assert first.numbers is not None and first.numbers.value == 12 and first.value == 12
    assert evidence.fact("compute.change.2").value == 200  # type: ignore[union-attr]
    assert any("CloudTrail write events" in line for line in evidence.looked_at)


def test_an_alarm_redefinition_carries_its_new_and_previous_threshold():
    trail = FakeTrail(
        events={
            "SearchApi-HighLatency": [
                trail_event("PutMetricAlarm", 6, user="bob.martin", alarmName="SearchApi-HighLatency", threshold=400.0),
                trail_event(
                    "PutMetricAlarm", 290, user="AWSCloudFormation", alarmName="SearchApi-HighLatency", threshold=1000.0
                ),
            ],
            # Another alarm's definition, found by the same lookup, is not this alarm's
            "OtherAlarm": [trail_event("PutMetricAlarm", 3, user="eve", alarmName="OtherAlarm", threshold=1.0)],
        }
    )

    evidence = what_changed_evidence(
        trail, [ChangeSubject(name="SearchApi-HighLatency", is_alarm=True)], at=AT, now=NOW
    )

    change = evidence.fact("compute.alarm_change")
    assert change is not None and change.text.startswith(
        "Alarm SearchApi-HighLatency: threshold set to 400 (was 1,000) by bob.martin"
    )
    assert change.numbers == Measurement(
        value=6, unit="minutes before the alert", threshold=400, baseline=1000, change_pct=-60
    )
    assert evidence.fact("compute.change.1") is None  # the alarm's definitions are not resource changes


def test_no_write_recorded_is_said_and_yields_no_fact():
    evidence = what_changed_evidence(FakeTrail(), [ChangeSubject(name="InventorySync")], at=AT, now=NOW)
    assert evidence.facts == []
    assert any("shows no write to InventorySync" in note for note in evidence.notes)


def test_lookups_are_bounded_and_a_throttle_stops_them_with_a_note_instead_of_failing_the_branch():
    subjects = [ChangeSubject(name=f"fn-{i}") for i in range(MAX_LOOKUPS + 3)]
    bounded = FakeTrail()
    what_changed_evidence(bounded, subjects, at=AT, now=NOW)
    assert len(bounded.looked_up) == MAX_LOOKUPS

    throttled = FakeTrail(throttle_after=1)
    evidence = what_changed_evidence(throttled, subjects, at=AT, now=NOW)
    assert throttled.looked_up == ["fn-0"]
    assert any("throttled" in note for note in evidence.notes)


def test_the_secrets_a_function_environment_names_are_looked_up_and_nothing_else_from_it():
    environment = {
        "DB_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/orders/db-AbC123",
        "STRIPE_SECRET_NAME": "prod/payments/stripe",
        "LOG_LEVEL": "INFO",
        "API_URL": "https://api.example.com/v1",
        "PASSWORD": "hunter2",  # a value that is a secret itself is never a lookup subject
    }
    subjects = secrets_named_by("CheckoutService", environment)
    assert [s.name for s in subjects] == [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/orders/db-AbC123",
        "prod/payments/stripe",
    ]
    ordered = change_subjects_of(
        ["CheckoutService", "orders-queue"],
        alarm_name="CheckoutService-Errors",
        environments={"CheckoutService": environment},
    )
    assert [s.name for s in ordered][:3] == [
        "CheckoutService",
        "CheckoutService-Errors",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/orders/db-AbC123",
    ]
    assert ordered[1].is_alarm and len(ordered) == MAX_LOOKUPS


def test_a_secret_rotation_is_a_change_on_the_function_that_reads_it():
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/orders/db-AbC123"
    trail = FakeTrail(events={secret: [trail_event("RotateSecret", 15, user="rotation-lambda")]})
    subjects = change_subjects_of(["OrdersApi"], alarm_name=None, environments={"OrdersApi": {"DB_SECRET_ARN": secret}})

    evidence = what_changed_evidence(trail, subjects, at=AT, now=NOW)

    change = evidence.fact("compute.change.1")
    assert change is not None and change.text.startswith("RotateSecret on prod/orders/db-AbC123 by rotation-lambda")
    assert change.subject == secret
    assert "secret named by OrdersApi's environment (DB_SECRET_ARN)" in change.text


def test_the_compute_branch_reports_changes_and_noise_forms():
    # Given a CPU alarm that fired on one marginal datapoint, and a trail with one write on the instance
    points = [36.0] * 30 + [38.0, 83.4, 39.0]
    cloudwatch = FakeCloudWatch(
        series={"CPUUtilization": [((len(points) - 1 - i) * 5, v) for i, v in enumerate(points)]}
    )
    trail = FakeTrail(events={"i-0a9b8c7d6e5f4a3b2": [trail_event("ModifyInstanceAttribute", 30, user="carol")]})
    readers = ComputeReaders(
        cloudwatch=cloudwatch, lambdas=FakeLambdas(), ec2=FakeEc2(), securityhub=FakeSecurityHub(),  # type: ignore[arg-type]
        guardduty=FakeGuardDuty(), health=FakeHealth(), cloudtrail=trail,  # type: ignore[arg-type]
    )  # fmt: skip
    alert = cpu_alarm(evaluation_periods=1, datapoints_to_alarm=1)

    section = gather_compute(StageInput(route="critical", alert=alert), readers, now=NOW, settings=Settings())

    keys = [f.key for f in section.facts]
    assert "compute.change.1" in keys
    assert {"compute.alarm_noise.single_datapoint", "compute.alarm_noise.marginal_breach"} <= set(keys)
    assert trail.looked_up == ["i-0a9b8c7d6e5f4a3b2", "PutMetricAlarm"]


# --- Noise forms -------------------------------------------------------------------------------------------------


def test_one_of_one_datapoints_is_noise_only_once_the_metric_is_back():
    one_of_one = cpu_alarm(evaluation_periods=1, datapoints_to_alarm=1)
    assert "single_datapoint" in forms(alarm_noise_evidence(one_of_one, window(95, 40), None))
    # Still breaching, or an alarm that needs 3 of 3: not this form
    assert "single_datapoint" not in forms(alarm_noise_evidence(one_of_one, window(95, 93), None))
    three = cpu_alarm(evaluation_periods=3, datapoints_to_alarm=3)
    assert "single_datapoint" not in forms(alarm_noise_evidence(three, window(95, 40), None))


def test_a_marginal_breach_is_a_peak_barely_past_the_threshold_that_recovered():
    alarm = cpu_alarm(evaluation_periods=3)
    marginal = alarm_noise_evidence(alarm, window(84, 40), None)
    assert forms(marginal) == ["marginal_breach"]
    assert marginal.facts[0].numbers.change_pct == 5.0  # type: ignore[union-attr]
    assert forms(alarm_noise_evidence(alarm, window(99, 40), None)) == []  # well past the threshold
    assert forms(alarm_noise_evidence(alarm, window(84, 83), None)) == []  # not recovered


def test_insufficient_data_to_alarm_is_a_form_of_its_own():
    assert forms(alarm_noise_evidence(cpu_alarm(previous_state="INSUFFICIENT_DATA"), window(99, 97), None)) == [
        "from_insufficient_data"
    ]
    assert forms(alarm_noise_evidence(cpu_alarm(previous_state="OK"), window(99, 97), None)) == []


def test_a_redefinition_shortly_before_the_alarm_is_reconfiguration_from_cloudtrail_or_the_alarm_itself():
    change = Fact(
        key="compute.alarm_change",
        text="Alarm redefined",
        numbers=Measurement(value=6, unit="minutes before the alert", threshold=400, baseline=1000),
    )
    found = alarm_noise_evidence(cpu_alarm(evaluation_periods=3), window(432, 431, 421), change)
    assert forms(found) == ["reconfigured"]
    assert "threshold 1,000 -> 400 (tightened)" in found.facts[0].text
    assert "would not have crossed the previous threshold" in found.facts[0].text
    old_change = change.model_copy(update={"numbers": Measurement(value=300, threshold=400, baseline=1000)})
    assert forms(alarm_noise_evidence(cpu_alarm(evaluation_periods=3), window(432, 431), old_change)) == []
    # Without CloudTrail: the SNS message's AlarmConfigurationUpdatedTimestamp
    updated = (AT - timedelta(minutes=9)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    recent = cpu_alarm(evaluation_periods=3, configuration_updated_at=updated)
    assert forms(alarm_noise_evidence(recent, window(432, 431), None)) == ["reconfigured"]
    stale = cpu_alarm(evaluation_periods=3, configuration_updated_at="2025-03-18T16:40:02.877+0000")
    assert forms(alarm_noise_evidence(stale, window(432, 431), None)) == []


def test_the_definition_is_read_from_the_state_reason_when_the_delivery_lacks_it():
    # EventBridge carries no threshold or M of N: CloudWatch's state reason does
    alarm = alarm_alert(
        "CPUUtilization",
        "AWS/EC2",
        {"InstanceId": "i-0a9b8c7d6e5f4a3b2"},
        comparison_operator=None,
        state_reason="Threshold Crossed: 1 out of the last 1 datapoints [83.4 (25/11/26 18:50:00)] was greater "
        "than the threshold (80.0) (minimum 1 datapoint for OK -> ALARM transition).",
    )
    assert forms(alarm_noise_evidence(alarm, window(83.4, 36.8), None)) == ["single_datapoint", "marginal_breach"]


def test_no_form_for_an_alarm_that_is_not_in_alarm():
    assert (
        alarm_noise_evidence(cpu_alarm(state="OK", previous_state="INSUFFICIENT_DATA"), window(84, 40), None).facts
        == []
    )


# --- The rules -----------------------------------------------------------------------------------------------------


def compute(*facts: Fact) -> ContextSection:
    return ContextSection(name="compute", status="ok", facts=list(facts))


def logs(errors: int) -> ContextSection:
    return ContextSection(
        name="logs", status="ok", facts=[Fact(key="logs.error_count", text=f"{errors} errors", value=errors)]
    )


ALARM_METRIC = Fact(
    key="compute.alarm_metric",
    text="Alarm metric CPUUtilization (Average/5m): peak 83.4 vs baseline 36.5 (+128%), now 36.8; threshold 80",
    numbers=Measurement(value=83.4, baseline=36.5, change_pct=128, latest=36.8, threshold=80, crossed=True),
)
SPIKE = Fact(
    key="compute.alarm_noise.single_datapoint",
    text="The alarm fires on 1 of 1 datapoints: one period at 83.4 was enough",
    value="single_datapoint",
)
FROM_INSUFFICIENT = Fact(
    key="compute.alarm_noise.from_insufficient_data", text="The alarm went to ALARM from INSUFFICIENT_DATA"
)


def test_a_noise_form_with_nothing_else_wrong_is_likely_a_false_alarm():
    analysis = analyze_with_rules(cpu_alarm(), GatheredContext(compute=compute(ALARM_METRIC, SPIKE), logs=logs(0)))
    assert analysis.root_cause.startswith("Likely a false alarm (noise)")
    assert "1 of 1 datapoints" in analysis.root_cause
    assert any("more datapoints" in r for r in analysis.recommendations)


def test_a_noise_form_is_only_a_note_when_the_logs_show_errors():
    analysis = analyze_with_rules(cpu_alarm(), GatheredContext(compute=compute(ALARM_METRIC, SPIKE), logs=logs(40)))
    assert "false alarm" not in analysis.root_cause.lower()
    assert any(r.startswith("The alarm itself may be noisy") for r in analysis.recommendations)


def test_a_noise_form_is_only_a_note_when_the_resource_changed_or_a_companion_metric_moved():
    change = Fact(
        key="compute.change.1",
        text="ModifyInstanceAttribute on i-0a9b8c7d6e5f4a3b2 by carol 20 min ago",
        value=15,
        subject="i-0a9b8c7d6e5f4a3b2",
        numbers=Measurement(value=15, unit="minutes before the alert"),
    )
    changed = analyze_with_rules(cpu_alarm(), GatheredContext(compute=compute(ALARM_METRIC, SPIKE, change)))
    assert "false alarm" not in changed.root_cause.lower()
    assert "carol" in changed.root_cause  # the change is the candidate cause
    network = Fact(
        key="compute.metric.NetworkIn",
        text="NetworkIn: peak 210,000,000 vs baseline 52,000,000 (+304%)",
        numbers=Measurement(value=2.1e8, baseline=5.2e7, change_pct=304),
    )
    moved = analyze_with_rules(cpu_alarm(), GatheredContext(compute=compute(ALARM_METRIC, SPIKE, network)))
    assert "false alarm" not in moved.root_cause.lower()


def test_insufficient_data_alone_is_never_a_false_alarm_verdict():
    analysis = analyze_with_rules(
        cpu_alarm(), GatheredContext(compute=compute(ALARM_METRIC, FROM_INSUFFICIENT), logs=logs(0))
    )
    assert "false alarm" not in analysis.root_cause.lower()
    assert any("INSUFFICIENT_DATA" in r for r in analysis.recommendations)


def test_failing_after_a_recorded_configuration_change_names_it_and_who():
    alert = alarm_alert("Errors", "AWS/Lambda", {"FunctionName": "InventorySync"}, threshold=10)
    errors = Fact(
        key="compute.alarm_metric",
        text="Alarm metric Errors (Sum/5m): peak 96 vs baseline 0 (from zero); threshold 10",
        numbers=Measurement(value=96, baseline=0, threshold=10, crossed=True),
    )
    change = Fact(
        key="compute.change.1",
        text="UpdateFunctionConfiguration20150331v2 on InventorySync by alice.nguyen 14 min ago (12 min before the "
        "alert; in the console; timeout=3)",
        value=12,
        subject="InventorySync",
        numbers=Measurement(value=12, unit="minutes before the alert"),
    )

    analysis = analyze_with_rules(alert, GatheredContext(compute=compute(errors, change), logs=logs(90)))

    assert analysis.root_cause.startswith("InventorySync started failing 12 min after a configuration change")
    assert "alice.nguyen" in analysis.root_cause and "no code deploy is recorded" in analysis.root_cause
    assert any(d.startswith("aws cloudtrail lookup-events") and "InventorySync" in d for d in analysis.diagnostics)
    # A change hours before the alert is not the candidate cause
    old = change.model_copy(update={"numbers": Measurement(value=600, unit="minutes before the alert"), "value": 600})
    later = analyze_with_rules(alert, GatheredContext(compute=compute(errors, old), logs=logs(90)))
    assert "alice.nguyen" not in later.root_cause


def _reconfigured(old: float | None) -> tuple[Fact, Fact]:
    change = Fact(
        key="compute.alarm_change",
        text="Alarm SearchApi-HighLatency was redefined (PutMetricAlarm) by bob.martin 10 min ago",
        numbers=Measurement(value=6, unit="minutes before the alert", threshold=400, baseline=old),
    )
    form = Fact(key="compute.alarm_noise.reconfigured", text="The alarm was redefined 6 min before it fired")
    return change, form


def _latency(peak: float, baseline: float) -> Fact:
    return Fact(
        key="compute.alarm_metric",
        text=f"Alarm metric Duration (Average/5m): peak {peak} vs baseline {baseline}",
        numbers=Measurement(value=peak, baseline=baseline, change_pct=(peak - baseline) / baseline * 100),
    )


def test_a_lowered_threshold_is_a_false_alarm_only_when_the_metric_is_at_its_usual_level():
    alert = alarm_alert("Duration", "AWS/Lambda", {"FunctionName": "SearchApi"}, threshold=400)
    usual = analyze_with_rules(
        alert, GatheredContext(compute=compute(_latency(432, 421), *_reconfigured(1000)), logs=logs(0))
    )
    assert usual.root_cause.startswith("Likely a false alarm from a threshold change")
    assert "bob.martin" in usual.root_cause

    # The peak would have crossed the old threshold too: the breach is real, whoever edited the alarm
    real = analyze_with_rules(
        alert, GatheredContext(compute=compute(_latency(1900, 421), *_reconfigured(1000)), logs=logs(0))
    )
    assert "false alarm" not in real.root_cause.lower()
    # No previous threshold known, and the metric far above its baseline: not called noise either
    unknown = analyze_with_rules(
        alert, GatheredContext(compute=compute(_latency(1900, 421), *_reconfigured(None)), logs=logs(0))
    )
    assert "false alarm" not in unknown.root_cause.lower()
    assert any("may be noisy" in r for r in unknown.recommendations)


def test_the_kind_of_recorded_change_is_named_from_its_api():
    from functions.analyze.rules.changes_and_noise import change_kind

    assert change_kind("UpdateFunctionCode20150331v2") == "a code deploy"
    assert change_kind("RegisterTaskDefinition") == "a code deploy"
    assert change_kind("ModifyDBInstance") == "a configuration change"
    assert change_kind("SetQueueAttributes") == "a configuration change"
    assert change_kind("RotateSecret") == "a change to a secret it reads"
    assert change_kind("CreateTags") == "a recorded change"


def test_a_latency_breach_after_a_memory_change_is_tied_to_it_without_errors():
    alert = alarm_alert("Duration", "AWS/Lambda", {"FunctionName": "ResizeImage"})  # EventBridge: no threshold
    latency = Fact(
        key="compute.alarm_metric",
        text="Alarm metric Duration (Average/5m): peak 2,950 vs baseline 610 (+384%)",
        numbers=Measurement(value=2950, baseline=610, change_pct=384),
    )
    change = Fact(
        key="compute.change.1",
        text="UpdateFunctionConfiguration20150331v2 on ResizeImage by dev-ops 30 min ago (25 min before the alert); "
        "set memorySize=128",
        subject="ResizeImage",
        numbers=Measurement(value=25, unit="minutes before the alert"),
    )

    analysis = analyze_with_rules(alert, GatheredContext(compute=compute(latency, change), logs=logs(0)))

    assert analysis.root_cause.startswith("ResizeImage breached its Duration threshold 25 min after a configuration")
    assert "memorySize=128" in analysis.root_cause
    # The same metric at its usual level is no breach to blame on the change
    usual = latency.model_copy(update={"numbers": Measurement(value=640, baseline=610, change_pct=5)})
    calm = analyze_with_rules(alert, GatheredContext(compute=compute(usual, change), logs=logs(0)))
    assert "after a configuration change" not in calm.root_cause


def test_a_tag_change_is_never_the_cause():
    tagged = Fact(
        key="compute.change.1",
        text="CreateTags on i-0a9b8c7d6e5f4a3b2 by finops 20 min ago (15 min before the alert); set CostCenter=42",
        subject="i-0a9b8c7d6e5f4a3b2",
        numbers=Measurement(value=15, unit="minutes before the alert"),
    )
    analysis = analyze_with_rules(
        cpu_alarm(), GatheredContext(compute=compute(ALARM_METRIC, SPIKE, tagged), logs=logs(0))
    )
    assert "finops" not in analysis.root_cause
    assert analysis.root_cause.startswith("Likely a false alarm (noise)")


def test_the_sns_alarm_message_carries_when_the_alarm_was_last_redefined():
    from functions.shared.alert_details import CloudWatchAlarmDetails
    from functions.shared.classification import classify_payload
    from tests.support.events import load_event

    alert = classify_payload(load_event("cloudwatch_alarm_sns.json"))

    details = alert.details_of(CloudWatchAlarmDetails)
    assert details is not None and details.configuration_updated_at == "2026-10-02T09:14:51.331+0000"
    eventbridge = classify_payload(load_event("cloudwatch_alarm_eventbridge.json")).details_of(CloudWatchAlarmDetails)
    assert eventbridge is not None and eventbridge.configuration_updated_at is None  # EventBridge does not carry it
