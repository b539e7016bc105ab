"""Classify: each real alert shape becomes the right normalised Alert."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.classify.handler import handler
from functions.classify.logic import classify, classify_payload
from functions.shared.models import PipelineInput, StageInput
from tests.support.events import load_event


def as_pipeline_input(fixture: str) -> PipelineInput:
    """The fixture as ingest hands it to the state machine: SNS envelopes removed, JSON messages parsed."""
    event = load_event(fixture)
    if isinstance(event, dict) and "Records" in event:
        sns = event["Records"][0]["Sns"]
        message = sns["Message"]
        try:
            payload: Any = json.loads(message)
        except ValueError:
            payload = message
        return PipelineInput(delivery="sns", subject=sns.get("Subject"), topic_arn=sns["TopicArn"], payload=payload)
    if isinstance(event, dict) and event.get("Type") == "Notification":
        return PipelineInput(delivery="sns_https", subject=event["Subject"], payload=event["Message"])
    return PipelineInput(delivery="eventbridge" if "detail-type" in event else "direct", payload=event)


def alert_for(fixture: str):
    return classify(as_pipeline_input(fixture))


# --- AWS Budgets ---------------------------------------------------------------------------------------------


def test_budget_actual_over_budgeted_amount_is_critical() -> None:
    # Given the demo's monthly budget notification: $1,042.17 actual against $1,000.00 budgeted
    # When
    alert = alert_for("budget_notification_sns.json")
    # Then
    assert alert.source == "budget"
    assert alert.alert_type == "budget_exceeded"
    assert alert.severity == "critical"
    assert alert.account_id == "123456789012"
    assert alert.occurred_at == datetime(2026, 11, 25, tzinfo=UTC)
    assert alert.resource is not None
    assert (alert.resource.type, alert.resource.name) == ("AWS::Budgets::Budget", "monthly-aws-spend")
    assert alert.details.as_fields()["budgeted_amount"] == 1000.0
    assert alert.details.as_fields()["actual_amount"] == 1042.17
    assert alert.details.as_fields()["threshold_amount"] == 1000.0
    assert alert.details.as_fields()["notification_type"] == "ACTUAL"
    assert alert.details.as_fields()["percent_of_budget"] == 104.2
    assert alert.details.as_fields()["threshold_period"] == "month"
    assert "$1,042.17" in alert.title and "monthly-aws-spend" in alert.title


def test_budget_lower_threshold_crossed_is_warning() -> None:
    # Given an SNS HTTPS delivery of an 80 % threshold crossing ($812.40 of $1,000.00)
    # When
    alert = alert_for("budget_notification_https.json")
    # Then
    assert alert.alert_type == "budget_threshold_crossed"
    assert alert.severity == "warning"
    assert alert.details.as_fields()["threshold_amount"] == 800.0
    assert alert.details.as_fields()["actual_amount"] == 812.4


def test_budget_forecast_is_warning_even_above_budget() -> None:
    # Given a forecast of $1,450.00 against $1,000.00
    # When
    alert = alert_for("budget_forecast_sns.json")
    # Then
    assert alert.alert_type == "budget_forecast"
    assert alert.severity == "warning"
    assert alert.details.as_fields()["forecasted_amount"] == 1450.0
    assert "actual_amount" not in alert.details.as_fields()


def test_budget_name_falls_back_to_the_subject() -> None:
    # Given a notification whose field block was cut off
    message = "AWS Budget Notification November 25, 2026\nAWS Account 123456789012\n\nDear AWS Customer,\n"
    # When
    alert = classify_payload(message, "AWS Budgets: team-x has exceeded your alert threshold")
    # Then
    assert alert.source == "budget"
    assert alert.details.as_fields()["budget_name"] == "team-x"
    assert alert.severity == "warning"


def test_budget_with_zero_budgeted_amount_does_not_crash() -> None:
    # Given a zero-spend budget that was exceeded
    message = (
        "AWS Budget Notification November 25, 2026\nAWS Account 123456789012\n\n"
        "Budget Name: zero\nBudget Type: Cost\nBudgeted Amount: $0.00\nAlert Type: ACTUAL\n"
        "Alert Threshold: > $0.00\nACTUAL Amount: $0.60\n"
    )
    # When
    alert = classify_payload(message)
    # Then
    assert alert.alert_type == "budget_exceeded"
    assert alert.severity == "critical"


# --- Cost Anomaly Detection ----------------------------------------------------------------------------------


def test_cost_anomaly_sns_with_300_percent_impact_is_critical() -> None:
    # When
    alert = alert_for("cost_anomaly_sns.json")
    # Then
    assert alert.source == "cost_anomaly"
    assert alert.alert_type == "cost_anomaly"
    assert alert.severity == "critical"
    assert alert.details.as_fields()["total_impact"] == 912.4
    assert alert.details.as_fields()["total_impact_percentage"] == 300.0
    assert alert.details.as_fields()["max_impact"] == 498.7
    assert alert.details.as_fields()["anomaly_id"] == "3e7d9c1b-2a4f-4b6e-8d0c-5f1a2b3c4d5e"
    assert alert.details.as_fields()["root_causes"][0] == {
        "service": "AWS Lambda",
        "region": "us-east-1",
        "usage_type": "USE1-Lambda-GB-Second",
        "linked_account": "123456789012",
        "linked_account_name": "production",
    }
    assert alert.region == "us-east-1"
    assert alert.resource is not None and alert.resource.name == "AWS Lambda"


def test_cost_anomaly_eventbridge_below_limits_is_warning() -> None:
    # Given +45 % / $180.25
    # When
    alert = alert_for("cost_anomaly_eventbridge.json")
    # Then
    assert alert.source == "cost_anomaly"
    assert alert.severity == "warning"
    assert alert.details.as_fields()["root_causes"][0]["impact_contribution"] == 171.4
    assert alert.account_id == "123456789012"


@pytest.mark.parametrize(
    ("total_impact", "percentage", "severity"),
    [(1000.0, 10.0, "critical"), (999.99, 99.9, "warning"), (50.0, 100.0, "critical")],
)
def test_cost_anomaly_severity_limits(total_impact: float, percentage: float, severity: str) -> None:
    # Given
    anomaly = {"anomalyId": "a-1", "impact": {"totalImpact": total_impact, "totalImpactPercentage": percentage}}
    # When
    alert = classify_payload(anomaly)
    # Then
    assert alert.source == "cost_anomaly"
    assert alert.severity == severity


# --- CloudWatch alarms ---------------------------------------------------------------------------------------


def test_sns_alarm_on_lambda_invocations_names_the_function() -> None:
    # Given the demo alarm: ImageProcessor invocation storm
    # When
    alert = alert_for("cloudwatch_alarm_sns.json")
    # Then
    assert alert.source == "cloudwatch_alarm"
    assert alert.alert_type == "AWS/Lambda:Invocations"
    assert alert.severity == "critical"
    assert alert.account_id == "123456789012"
    assert alert.region == "us-east-1"
    assert alert.resource is not None
    assert alert.resource.type == "AWS::Lambda::Function"
    assert alert.resource.name == "ImageProcessor"
    assert alert.resource.arn == "arn:aws:lambda:us-east-1:123456789012:function:ImageProcessor"
    assert alert.occurred_at == datetime(2026, 11, 25, 18, 52, 3, 512000, tzinfo=UTC)
    details = alert.details.as_fields()
    assert details["namespace"] == "AWS/Lambda"
    assert details["metric_name"] == "Invocations"
    assert details["dimensions"] == {"FunctionName": "ImageProcessor"}
    assert details["threshold"] == 10000.0
    assert details["comparison_operator"] == "GreaterThanThreshold"
    assert details["statistic"] == "SUM"
    assert details["period_seconds"] == 300
    assert details["evaluation_periods"] == 2
    assert details["state"] == "ALARM"
    assert details["previous_state"] == "OK"
    assert details["alarm_kind"] == "metric"


def test_alarm_back_to_ok_is_info() -> None:
    alert = alert_for("cloudwatch_alarm_ok_sns.json")
    assert alert.severity == "info"
    assert alert.details.as_fields()["state"] == "OK"


def test_eventbridge_alarm_state_change() -> None:
    # When
    alert = alert_for("cloudwatch_alarm_eventbridge.json")
    # Then
    assert alert.alert_type == "AWS/Lambda:Errors"
    assert alert.severity == "critical"
    assert (
        alert.details.as_fields()["alarm_arn"]
        == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:ImageProcessor-Errors"
    )
    assert alert.details.as_fields()["statistic"] == "Sum"
    assert alert.resource is not None and alert.resource.name == "ImageProcessor"


def test_metric_math_alarm_marked_warning_by_its_name() -> None:
    # Given "ImageProcessor-ErrorRate-Warning" computing 100 * errors / invocations
    # When
    alert = alert_for("cloudwatch_alarm_metric_math_eventbridge.json")
    # Then
    assert alert.severity == "warning"
    assert alert.details.as_fields()["alarm_kind"] == "metric_math"
    assert alert.alert_type == "AWS/Lambda:Errors"
    assert any(m.get("expression") == "100 * errors / invocations" for m in alert.details.as_fields()["metrics"])
    assert alert.resource is not None and alert.resource.name == "ImageProcessor"


def test_anomaly_detection_alarm() -> None:
    alert = alert_for("cloudwatch_alarm_anomaly_detection_eventbridge.json")
    assert alert.details.as_fields()["alarm_kind"] == "anomaly_detection"
    assert alert.alert_type == "AWS/Lambda:Duration"
    assert alert.severity == "critical"


def test_composite_alarm_lists_its_triggering_alarms() -> None:
    # When
    alert = alert_for("cloudwatch_alarm_composite_eventbridge.json")
    # Then
    assert alert.alert_type == "composite_alarm"
    assert alert.details.as_fields()["alarm_kind"] == "composite"
    assert "ALARM(" in alert.details.as_fields()["alarm_rule"]
    assert len(alert.details.as_fields()["triggering_alarms"]) == 2
    assert alert.resource is not None and alert.resource.type == "AWS::CloudWatch::Alarm"


def test_alarm_lambda_action_payload() -> None:
    # When
    alert = alert_for("cloudwatch_alarm_lambda_action.json")
    # Then
    assert alert.source == "cloudwatch_alarm"
    assert alert.alert_type == "AWS/Lambda:Throttles"
    assert alert.severity == "critical"
    assert alert.details.as_fields()["previous_state"] == "OK"
    assert alert.account_id == "123456789012"


@pytest.mark.parametrize(
    ("name", "description", "severity"),
    [
        ("ImageProcessor-Errors", None, "critical"),
        ("ImageProcessorWarnErrors", None, "warning"),
        ("api-latency-warning", None, "warning"),
        ("api-latency", "INFO only: nightly batch", "info"),
        ("Informer-Errors", None, "critical"),  # "Informer" is not the word "info"
    ],
)
def test_alarm_severity_follows_name_and_description_marks(name: str, description: str | None, severity: str) -> None:
    # Given
    message: dict[str, Any] = {
        "AlarmName": name,
        "AlarmDescription": description,
        "NewStateValue": "ALARM",
        "Trigger": {},
    }
    # When
    alert = classify_payload(message)
    # Then
    assert alert.severity == severity


def test_insufficient_data_and_configuration_changes_are_info() -> None:
    # Given
    insufficient = {"AlarmName": "x-Errors", "NewStateValue": "INSUFFICIENT_DATA", "Trigger": {}}
    config_change = load_event("cloudwatch_alarm_eventbridge.json") | {
        "detail-type": "CloudWatch Alarm Configuration Change"
    }
    # When / Then
    assert classify_payload(insufficient).severity == "info"
    changed = classify_payload(config_change)
    assert changed.severity == "info"
    assert changed.details.as_fields()["configuration_change"] == "update"


# --- AWS Health ----------------------------------------------------------------------------------------------


def test_open_health_issue_is_critical() -> None:
    # When
    alert = alert_for("health_event.json")
    # Then
    assert alert.source == "health"
    assert alert.alert_type == "AWS_LAMBDA_OPERATIONAL_ISSUE"
    assert alert.severity == "critical"
    assert alert.region == "us-east-1"
    assert alert.occurred_at == datetime(2026, 11, 25, 18, 20, tzinfo=UTC)
    assert "increased invocation error rates" in alert.summary
    assert alert.details.as_fields()["service"] == "LAMBDA"
    assert alert.details.as_fields()["status_code"] == "open"


def test_scheduled_change_is_warning_and_names_the_instance() -> None:
    # When
    alert = alert_for("health_scheduled_change.json")
    # Then
    assert alert.severity == "warning"
    assert alert.details.as_fields()["event_type_category"] == "scheduledChange"
    assert alert.resource is not None
    assert (alert.resource.type, alert.resource.name) == ("AWS::EC2::Instance", "i-0a1b2c3d4e5f60718")


@pytest.mark.parametrize(
    ("category", "status", "severity"),
    [
        ("issue", "open", "critical"),
        ("issue", "closed", "warning"),
        ("scheduledChange", "closed", "warning"),
        ("accountNotification", "open", "warning"),
        ("accountNotification", "closed", "info"),
    ],
)
def test_health_severity_rules(category: str, status: str, severity: str) -> None:
    event = load_event("health_event.json")
    event["detail"] |= {"eventTypeCategory": category, "statusCode": status}
    assert classify_payload(event).severity == severity


# --- Security Hub and GuardDuty ------------------------------------------------------------------------------


def test_security_hub_event_takes_the_most_severe_finding() -> None:
    # Given an event with a MEDIUM S3 finding then a CRITICAL Lambda finding
    # When
    alert = alert_for("securityhub_findings_imported.json")
    # Then
    assert alert.source == "security_hub"
    assert alert.alert_type == "Lambda.1"
    assert alert.severity == "critical"
    assert alert.details.as_fields()["finding_count"] == 2
    assert alert.resource is not None
    assert alert.resource.type == "AWS::Lambda::Function"
    assert alert.resource.name == "ImageProcessor"


def test_bare_asff_finding() -> None:
    alert = alert_for("securityhub_asff_finding.json")
    assert alert.source == "security_hub"
    assert alert.alert_type == "EC2.19"
    assert alert.severity == "critical"
    assert alert.resource is not None and alert.resource.name == "sg-0f1e2d3c4b5a69788"


@pytest.mark.parametrize(
    ("label", "severity"),
    [("CRITICAL", "critical"), ("HIGH", "critical"), ("MEDIUM", "warning"), ("LOW", "info"), ("INFORMATIONAL", "info")],
)
def test_security_hub_label_rules(label: str, severity: str) -> None:
    finding = load_event("securityhub_asff_finding.json")
    finding["Severity"] = {"Label": label}
    assert classify_payload(finding).severity == severity


def test_guardduty_high_finding_is_critical() -> None:
    # When
    alert = alert_for("guardduty_finding.json")
    # Then
    assert alert.source == "guardduty"
    assert alert.alert_type == "CryptoCurrency:EC2/BitcoinTool.B!DNS"
    assert alert.severity == "critical"
    assert alert.resource is not None
    assert (alert.resource.type, alert.resource.name) == ("AWS::EC2::Instance", "i-0a1b2c3d4e5f60718")
    assert alert.details.as_fields()["action_type"] == "DNS_REQUEST"
    assert alert.details.as_fields()["count"] == 14


@pytest.mark.parametrize(("score", "severity"), [(7.0, "critical"), (6.9, "warning"), (4.0, "warning"), (3.9, "info")])
def test_guardduty_severity_bands(score: float, severity: str) -> None:
    event = load_event("guardduty_finding.json")
    event["detail"]["severity"] = score
    assert classify_payload(event).severity == severity


# --- Custom and unknown --------------------------------------------------------------------------------------


def test_custom_app_error() -> None:
    # When
    alert = alert_for("custom_app_error.json")
    # Then
    assert alert.source == "custom"
    assert alert.alert_type == "app_error"
    assert alert.severity == "critical"
    assert alert.title.startswith("ImageProcessor: Failed to process image")
    assert alert.resource is not None and alert.resource.name == "ImageProcessor"
    assert alert.details.as_fields()["error_type"] == "ReadTimeoutError"
    assert alert.details.as_fields()["environment"] == "prod"
    assert alert.occurred_at == datetime(2026, 11, 25, 18, 51, 12, 345000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("given", "severity"),
    [
        ({"level": "fatal"}, "critical"),
        ({"severity": "ERROR"}, "critical"),
        ({"level": "warn"}, "warning"),
        ({"severity": "Warning"}, "warning"),
        ({"level": "info"}, "info"),
        ({"level": "DEBUG"}, "info"),
        ({}, "critical"),
        ({"level": "whatever"}, "critical"),
    ],
)
def test_custom_severity_mapping(given: dict[str, str], severity: str) -> None:
    assert classify_payload({"msg": "something broke", **given}).severity == severity


def test_unknown_text_is_kept_raw() -> None:
    # When
    alert = alert_for("unknown_text.txt")
    # Then
    assert alert.source == "unknown"
    assert alert.severity == "warning"
    assert "Disk usage on build-agent-7" in alert.title
    assert alert.raw_excerpt is not None and "nagios" in alert.raw_excerpt


def test_unknown_title_prefers_the_subject() -> None:
    alert = classify(PipelineInput(subject="Nightly job failed", payload="exit code 3"))
    assert alert.title == "Unrecognised alert: Nightly job failed"


def test_huge_unknown_payload_is_truncated_with_a_note() -> None:
    # Given
    raw = "x" * 50_000
    # When
    alert = classify_payload(raw)
    # Then
    assert alert.raw_excerpt is not None
    assert len(alert.raw_excerpt) <= 2_000
    assert "truncated" in alert.raw_excerpt


@pytest.mark.parametrize(
    "payload",
    [None, "", b"\xff\xfe\x00garbage", 42, [1, 2, 3], {}, {"Records": []}, {"Records": [{"Sns": None}]}, "{not json"],
)
def test_odd_payloads_become_unknown_alerts(payload: Any) -> None:
    alert = classify(PipelineInput(payload=payload)) if not isinstance(payload, bytes) else classify_payload(payload)
    assert alert.source == "unknown"
    assert alert.title


def test_envelopes_are_unwrapped_when_classify_gets_them_directly() -> None:
    # Given whole SNS Lambda event and SNS HTTPS body (as a CLI user might pass them)
    # When / Then
    assert classify_payload(load_event("cloudwatch_alarm_sns.json")).alert_type == "AWS/Lambda:Invocations"
    assert classify_payload(load_event("budget_notification_https.json")).source == "budget"
    assert classify_payload(json.dumps(load_event("guardduty_finding.json")).encode()).source == "guardduty"


def test_truncated_payload_is_flagged_in_details() -> None:
    alert = classify(PipelineInput(payload='{"AlarmName": "x", "Trig', payload_truncated=True))
    assert alert.details.as_fields()["payload_truncated"] is True


# --- Titles, dedup keys, handler -----------------------------------------------------------------------------

ALL_FIXTURES = [
    "budget_notification_sns.json",
    "budget_notification_https.json",
    "budget_forecast_sns.json",
    "cost_anomaly_sns.json",
    "cost_anomaly_eventbridge.json",
    "cloudwatch_alarm_sns.json",
    "cloudwatch_alarm_ok_sns.json",
    "cloudwatch_alarm_eventbridge.json",
    "cloudwatch_alarm_metric_math_eventbridge.json",
    "cloudwatch_alarm_composite_eventbridge.json",
    "cloudwatch_alarm_anomaly_detection_eventbridge.json",
    "cloudwatch_alarm_lambda_action.json",
    "health_event.json",
    "health_scheduled_change.json",
    "securityhub_findings_imported.json",
    "securityhub_asff_finding.json",
    "guardduty_finding.json",
    "custom_app_error.json",
    "custom_app_error_eventbridge.json",
    "unknown_text.txt",
]


@pytest.mark.parametrize("fixture", ALL_FIXTURES)
def test_every_fixture_gives_a_bounded_title_and_a_safe_stable_dedup_key(fixture: str) -> None:
    # When the same alert is classified twice (a redelivery)
    first, second = alert_for(fixture), alert_for(fixture)
    # Then
    assert first.dedup_key == second.dedup_key
    assert len(first.dedup_key) <= 64
    assert first.dedup_key.replace("-", "").replace("_", "").isalnum()
    assert 0 < len(first.title) <= 150


def test_different_alerts_get_different_keys() -> None:
    keys = {alert_for(f).dedup_key for f in ALL_FIXTURES}
    assert len(keys) == len(ALL_FIXTURES)


def test_alarm_key_changes_with_the_state_change_time() -> None:
    # Given the same alarm firing again later
    event = load_event("cloudwatch_alarm_eventbridge.json")
    later = json.loads(json.dumps(event))
    later["detail"]["state"]["timestamp"] = "2026-11-25T19:49:12.000+0000"
    # Then
    assert classify_payload(event).dedup_key != classify_payload(later).dedup_key


def test_ingest_key_is_kept_so_alert_and_execution_name_agree() -> None:
    pipeline_input = as_pipeline_input("cloudwatch_alarm_sns.json").model_copy(update={"dedup_key": "alarm-abc_123"})
    assert classify(pipeline_input).dedup_key == "alarm-abc_123"


def test_malformed_ingest_key_is_replaced_by_the_content_key() -> None:
    pipeline_input = as_pipeline_input("cloudwatch_alarm_sns.json").model_copy(update={"dedup_key": "bad key!"})
    assert classify(pipeline_input).dedup_key.startswith("alarm-ImageProcessor-Invocations-Spike-")


class _Context:
    function_name = "alert-intel-classify"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:alert-intel-classify"
    aws_request_id = "4f1c2d3e-0000-4000-8000-000000000001"


def test_handler_returns_route_and_alert() -> None:
    # Given the execution input ingest would start
    pipeline_input = as_pipeline_input("cloudwatch_alarm_sns.json").model_copy(update={"route": "critical"})
    # When
    output = handler(pipeline_input.model_dump(mode="json"), _Context())
    # Then
    stage_input = StageInput.model_validate(output)
    assert stage_input.route == "critical"
    assert stage_input.alert.resource is not None and stage_input.alert.resource.name == "ImageProcessor"
    assert set(output) == {"route", "alert"}


def test_custom_error_sent_as_an_application_eventbridge_event() -> None:
    # When
    alert = alert_for("custom_app_error_eventbridge.json")
    # Then
    assert alert.source == "custom"
    assert alert.severity == "warning"
    assert alert.account_id == "123456789012"
    assert alert.region == "us-east-1"
    assert alert.occurred_at == datetime(2026, 11, 25, 18, 51, 40, tzinfo=UTC)
    assert alert.details.as_fields()["error_type"] == "ThumbnailFallback"
    assert alert.details.as_fields()["event_id"] == "0d7f3c2a-5b1e-4f6a-9c8d-2e1f0a9b8c7d"


def test_unrecognised_aws_event_is_unknown_and_titled_by_its_detail_type() -> None:
    # Given an AWS event nobody taught classify about
    event = {
        "version": "0",
        "id": "x-1",
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "123456789012",
        "region": "us-east-1",
        "time": "2026-11-25T18:00:00Z",
        "detail": {"instance-id": "i-1", "state": "stopped"},
    }
    # When
    alert = classify_payload(event)
    # Then
    assert alert.source == "unknown"
    assert alert.title == "Unrecognised alert: EC2 Instance State-change Notification (aws.ec2)"
    assert alert.account_id == "123456789012"
    assert alert.raw_excerpt is not None and "i-1" in alert.raw_excerpt


def test_handler_classifies_a_raw_alert_started_by_hand() -> None:
    # Given an execution started from the console with the raw EventBridge event as its input
    # When
    output = handler(load_event("guardduty_finding.json"), _Context())
    # Then
    assert output["route"] == "critical"
    assert output["alert"]["source"] == "guardduty"


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_handler_rejects_a_malformed_pipeline_input() -> None:
    from functions.shared.errors import InvalidStageInputError

    with pytest.raises(InvalidStageInputError, match="route"):
        handler({"route": "pager", "payload": "x"}, _Context())


def _sns_alarm_message() -> dict[str, Any]:
    return json.loads(load_event("cloudwatch_alarm_sns.json")["Records"][0]["Sns"]["Message"])


def test_sns_metric_math_alarm_reads_the_metric_behind_the_expression() -> None:
    # Given an SNS alarm message whose Trigger holds Metrics[] instead of MetricName
    message = _sns_alarm_message()
    message["Trigger"] = {
        "Period": 60,
        "EvaluationPeriods": 1,
        "ComparisonOperator": "GreaterThanThreshold",
        "Threshold": 5.0,
        "Metrics": [
            {"Expression": "100 * e / i", "Id": "rate", "Label": "Error rate", "ReturnData": True},
            {
                "Id": "e",
                "MetricStat": {
                    "Metric": {
                        "Dimensions": [{"value": "ImageProcessor", "name": "FunctionName"}],
                        "MetricName": "Errors",
                        "Namespace": "AWS/Lambda",
                    },
                    "Period": 60,
                    "Stat": "Sum",
                },
                "ReturnData": False,
            },
        ],
    }
    # When
    alert = classify_payload(message)
    # Then
    assert alert.details.as_fields()["alarm_kind"] == "metric_math"
    assert alert.alert_type == "AWS/Lambda:Errors"
    assert alert.details.as_fields()["threshold"] == 5.0
    assert alert.resource is not None and alert.resource.name == "ImageProcessor"


def test_sns_composite_alarm() -> None:
    # Given a composite alarm's SNS message
    message = _sns_alarm_message()
    del message["Trigger"]
    message |= {
        "AlarmName": "ImageProcessor-Degraded",
        "AlarmRule": 'ALARM("ImageProcessor-Errors") AND ALARM("ImageProcessor-Invocations-Spike")',
        "TriggeringChildren": [
            {
                "Arn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:ImageProcessor-Errors",
                "State": {"Value": "ALARM", "Timestamp": "2026-11-25T18:49:12.117+0000"},
            }
        ],
    }
    # When
    alert = classify_payload(message)
    # Then
    assert alert.alert_type == "composite_alarm"
    assert alert.severity == "critical"
    assert alert.details.as_fields()["triggering_alarms"] == [
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:ImageProcessor-Errors"
    ]
