"""Ingest: every delivery shape becomes the right pipeline inputs, and duplicates start nothing."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from typing import Literal

import pytest

from functions.classify.logic import classify
from functions.ingest.logic import (
    execution_name,
    pipeline_inputs_from_event,
    pipeline_inputs_from_raw,
    read_event,
    read_raw,
    start_pipeline,
)
from functions.shared.models import PipelineInput
from functions.shared.payload_bounds import MAX_PIPELINE_PAYLOAD_BYTES, json_size
from tests.support.events import load_event, load_raw

NOW = datetime(2026, 11, 25, 18, 55, tzinfo=UTC)
_SAFE_NAME = r"^[A-Za-z0-9_-]{1,80}$"


class FakeStarter:
    """Records starts; a name seen before is a duplicate, like Step Functions."""

    def __init__(self) -> None:
        self.started: dict[str, str] = {}

    def start(self, name: str, input_json: str) -> Literal["started", "duplicate"]:
        if name in self.started:
            return "duplicate"
        self.started[name] = input_json
        return "started"


def test_sns_budget_notification_becomes_one_critical_text_input() -> None:
    # When
    inputs = pipeline_inputs_from_event(load_event("budget_notification_sns.json"), now=NOW)
    # Then
    assert len(inputs) == 1
    pipeline_input = inputs[0]
    assert pipeline_input.route == "critical"
    assert pipeline_input.delivery == "sns"
    assert pipeline_input.topic_arn == "arn:aws:sns:us-east-1:123456789012:alert-intel-critical"
    assert pipeline_input.subject == "AWS Budgets: monthly-aws-spend has exceeded your alert threshold"
    assert isinstance(pipeline_input.payload, str)
    assert pipeline_input.payload.startswith("AWS Budget Notification November 25, 2026")
    assert pipeline_input.received_at == NOW
    assert pipeline_input.dedup_key.startswith("budget-monthly-aws-spend-")
    assert not pipeline_input.payload_truncated


def test_sns_alarm_message_is_parsed_as_json() -> None:
    # When
    (pipeline_input,) = pipeline_inputs_from_event(load_event("cloudwatch_alarm_sns.json"), now=NOW)
    # Then
    assert isinstance(pipeline_input.payload, dict)
    assert pipeline_input.payload["AlarmName"] == "ImageProcessor-Invocations-Spike"


def test_ingest_key_equals_the_key_classify_computes() -> None:
    # Given
    (pipeline_input,) = pipeline_inputs_from_event(load_event("cloudwatch_alarm_sns.json"), now=NOW)
    # When
    content_key = classify(pipeline_input.model_copy(update={"dedup_key": ""})).dedup_key
    # Then
    assert pipeline_input.dedup_key == content_key


def test_heartbeat_topic_routes_to_heartbeat() -> None:
    (pipeline_input,) = pipeline_inputs_from_event(load_event("heartbeat_sns.json"), now=NOW)
    assert pipeline_input.route == "heartbeat"


def test_sns_batch_gives_one_input_per_record() -> None:
    # Given a batch holding an alarm and a budget notification
    event = load_event("cloudwatch_alarm_sns.json")
    event["Records"] += load_event("budget_notification_sns.json")["Records"]
    # When
    inputs = pipeline_inputs_from_event(event, now=NOW)
    # Then
    assert [classify(i).source for i in inputs] == ["cloudwatch_alarm", "budget"]


def test_sns_https_notification() -> None:
    (pipeline_input,) = pipeline_inputs_from_event(load_event("budget_notification_https.json"), now=NOW)
    assert pipeline_input.delivery == "sns_https"
    assert pipeline_input.route == "critical"
    assert classify(pipeline_input).alert_type == "budget_threshold_crossed"


def test_sns_https_body_through_a_function_url() -> None:
    # Given the HTTPS body as a Lambda function URL delivers it (base64 body)
    body = json.dumps(load_event("budget_notification_https.json"))
    event = {
        "version": "2.0",
        "headers": {"x-amz-sns-message-type": "Notification"},
        "requestContext": {"http": {"method": "POST"}},
        "body": base64.b64encode(body.encode()).decode(),
        "isBase64Encoded": True,
    }
    # When
    (pipeline_input,) = pipeline_inputs_from_event(event, now=NOW)
    # Then
    assert pipeline_input.delivery == "sns_https"
    assert classify(pipeline_input).source == "budget"


def test_subscription_confirmation_is_reported_not_alerted() -> None:
    # When
    ingested = read_event(load_event("sns_subscription_confirmation.json"), now=NOW)
    # Then
    assert ingested.inputs == []
    assert len(ingested.notices) == 1
    assert "SubscriptionConfirmation" in ingested.notices[0]
    assert "Action=ConfirmSubscription" in ingested.notices[0]


def test_eventbridge_event_is_one_critical_input() -> None:
    (pipeline_input,) = pipeline_inputs_from_event(load_event("guardduty_finding.json"), now=NOW)
    assert pipeline_input.delivery == "eventbridge"
    assert pipeline_input.route == "critical"
    assert pipeline_input.payload["detail-type"] == "GuardDuty Finding"


def test_security_hub_event_is_split_per_finding() -> None:
    # Given an event with two findings
    # When
    inputs = pipeline_inputs_from_event(load_event("securityhub_findings_imported.json"), now=NOW)
    # Then
    assert len(inputs) == 2
    alerts = [classify(i) for i in inputs]
    assert sorted(a.alert_type for a in alerts) == ["Lambda.1", "S3.5"]
    assert {a.details.as_fields()["finding_count"] for a in alerts} == {1}
    assert len({i.dedup_key for i in inputs}) == 2


def test_security_hub_findings_inside_sns_are_split_too() -> None:
    # Given the EventBridge event forwarded through SNS
    event = load_event("heartbeat_sns.json")
    event["Records"][0]["Sns"]["TopicArn"] = "arn:aws:sns:us-east-1:123456789012:alert-intel-critical"
    event["Records"][0]["Sns"]["Message"] = json.dumps(load_event("securityhub_findings_imported.json"))
    # When
    inputs = pipeline_inputs_from_event(event, now=NOW)
    # Then
    assert len(inputs) == 2
    assert all(i.delivery == "sns" for i in inputs)


@pytest.mark.parametrize("fixture", ["custom_app_error.json", "cloudwatch_alarm_lambda_action.json"])
def test_other_objects_are_direct_payloads(fixture: str) -> None:
    (pipeline_input,) = pipeline_inputs_from_event(load_event(fixture), now=NOW)
    assert pipeline_input.delivery == "direct"
    assert pipeline_input.payload == load_event(fixture)


def test_oversized_payload_is_truncated_and_flagged() -> None:
    # Given a custom event far above the payload bound
    event = {"message": "boom", "stack": "frame\n" * 20_000}
    # When
    (pipeline_input,) = pipeline_inputs_from_event(event, now=NOW)
    # Then
    assert pipeline_input.payload_truncated is True
    # its shape is kept: the short field whole, the long one shortened, within the byte bound
    assert pipeline_input.payload["message"] == "boom"
    assert pipeline_input.payload["stack"].startswith("frame\nframe")
    assert json_size(pipeline_input.payload) <= MAX_PIPELINE_PAYLOAD_BYTES
    assert len(pipeline_input.model_dump_json()) < 256 * 1024
    # and classify still produces an alert from it
    assert classify(pipeline_input).details.as_fields()["payload_truncated"] is True


def test_oversized_sns_message_keeps_the_key_of_the_full_message() -> None:
    # Given the same huge message delivered twice
    event = load_event("budget_notification_sns.json")
    event["Records"][0]["Sns"]["Message"] += "x" * (MAX_PIPELINE_PAYLOAD_BYTES + 10)
    # When
    first = pipeline_inputs_from_event(event, now=NOW)[0]
    second = pipeline_inputs_from_event(event, now=NOW)[0]
    # Then
    assert first.payload_truncated
    assert first.dedup_key == second.dedup_key


@pytest.mark.parametrize(
    "fixture",
    [
        "budget_notification_sns.json",
        "budget_notification_https.json",
        "cloudwatch_alarm_eventbridge.json",
        "securityhub_asff_finding.json",
        "custom_app_error.json",
        "unknown_text.txt",
    ],
)
def test_raw_file_content_of_every_shape(fixture: str) -> None:
    # When
    inputs = pipeline_inputs_from_raw(load_raw(fixture))
    # Then
    assert len(inputs) == 1
    assert classify(inputs[0]).dedup_key == inputs[0].dedup_key


def test_raw_plain_text_and_undecodable_bytes_still_become_inputs() -> None:
    # When
    text_inputs = pipeline_inputs_from_raw(load_raw("unknown_text.txt"), default_route="heartbeat")
    byte_inputs = pipeline_inputs_from_raw(b"\xff\xfe\xfa\x00 not utf-8 \x80")
    empty_inputs = pipeline_inputs_from_raw(b"")
    # Then
    assert text_inputs[0].route == "heartbeat"
    assert classify(text_inputs[0]).source == "unknown"
    assert classify(byte_inputs[0]).source == "unknown"
    assert len(empty_inputs) == 1 and classify(empty_inputs[0]).source == "unknown"


def test_raw_subscription_confirmation_has_a_notice() -> None:
    ingested = read_raw(load_raw("sns_subscription_confirmation.json"))
    assert ingested.inputs == [] and ingested.notices


@pytest.mark.parametrize("event", [None, 42, "plain", [], {}, {"Records": "nope"}, {"Records": [{"Sns": 3}]}])
def test_odd_events_never_raise(event: object) -> None:
    ingested = read_event(event, now=NOW)
    assert all(isinstance(i, PipelineInput) for i in ingested.inputs)


def test_execution_name_is_safe_bounded_and_stable() -> None:
    # Given the same alarm delivered twice
    first = pipeline_inputs_from_event(load_event("cloudwatch_alarm_sns.json"), now=NOW)[0]
    again = pipeline_inputs_from_event(load_event("cloudwatch_alarm_sns.json"), now=datetime.now(UTC))[0]
    # When
    name = execution_name(first)
    # Then
    assert name == execution_name(again)
    assert name.startswith("critical-alarm-ImageProcessor-Invocations-Spike-")
    assert len(name) <= 80
    assert re.match(_SAFE_NAME, name)


def test_execution_name_survives_a_hand_written_key() -> None:
    name = execution_name(PipelineInput(route="heartbeat", dedup_key="a b/c:" + "d" * 200, payload="x"))
    assert re.match(_SAFE_NAME, name)
    assert name.startswith("heartbeat-a-b-c-d")
    assert execution_name(PipelineInput(dedup_key="", payload="x")).startswith("critical-alert-")


def test_start_pipeline_starts_once_per_alert_and_reports_duplicates() -> None:
    # Given a starter, an SNS delivery and its redelivery
    starter = FakeStarter()
    event = load_event("cloudwatch_alarm_sns.json")
    # When
    first = start_pipeline(pipeline_inputs_from_event(event, now=NOW), starter)
    second = start_pipeline(pipeline_inputs_from_event(event, now=datetime.now(UTC)), starter)
    # Then
    assert [r.status for r in first] == ["started"]
    assert [r.status for r in second] == ["duplicate"]
    assert len(starter.started) == 1
    started_input = PipelineInput.model_validate_json(next(iter(starter.started.values())))
    assert started_input.payload["AlarmName"] == "ImageProcessor-Invocations-Spike"


def test_duplicate_inside_one_batch_starts_once() -> None:
    # Given a batch holding the same record twice
    event = load_event("cloudwatch_alarm_sns.json")
    event["Records"] = event["Records"] * 2
    starter = FakeStarter()
    # When
    results = start_pipeline(pipeline_inputs_from_event(event, now=NOW), starter)
    # Then
    assert [r.status for r in results] == ["started", "duplicate"]
    assert len(starter.started) == 1
