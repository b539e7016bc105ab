"""Classify never raises and always returns a well-formed Alert, whatever arrives."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.classify.logic import PARSERS, classify, classify_payload, unwrap_envelope
from functions.shared.models import MAX_RAW_EXCERPT_CHARS, Alert, PipelineInput
from functions.shared.sources.unknown import parse_unknown
from tests.support.events import load_event

_SAFE_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=30,
)

# Keys the parsers look for, so generated objects reach deep into each parser rather than stopping at the door.
_INTERESTING_KEYS = [
    "AlarmName", "NewStateValue", "Trigger", "Metrics", "source", "detail-type", "detail", "alarmData",
    "configuration", "metrics", "state", "anomalyId", "impact", "rootCauses", "eventTypeCode",
    "eventTypeCategory", "findings", "Findings", "ProductArn", "Severity", "Resources", "service", "type",
    "severity", "message", "error", "level", "Records", "Sns", "Message", "Type", "TopicArn",
]  # fmt: skip
_INTERESTING_VALUES = [
    "aws.cloudwatch", "aws.health", "aws.securityhub", "aws.guardduty", "aws.ce", "ALARM", "OK",
    "CloudWatch Alarm State Change", "Security Hub Findings - Imported", "GuardDuty Finding", "Anomaly Detected",
    "AWS Health Event", "Notification", "guardduty", "issue", "HIGH",
]  # fmt: skip
shaped_objects = st.recursive(
    st.none() | st.integers() | st.floats() | st.sampled_from(_INTERESTING_VALUES) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(_INTERESTING_KEYS) | st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=40,
)


def _strict(payload: Any, subject: str | None = None) -> Alert:
    """classify_payload without its safety net, so a parser bug fails the test instead of hiding as "unknown"."""
    message, subject = unwrap_envelope(payload, subject)
    for parser in PARSERS:
        if (alert := parser(message, subject)) is not None:
            return alert
    return parse_unknown(message, subject)


def _assert_well_formed(alert: Alert) -> None:
    assert isinstance(alert, Alert)
    assert 0 < len(alert.title) <= 150
    assert _SAFE_KEY.match(alert.dedup_key), alert.dedup_key
    assert alert.raw_excerpt is None or len(alert.raw_excerpt) <= MAX_RAW_EXCERPT_CHARS
    json.dumps(alert.model_dump(mode="json"))  # the state machine must be able to carry it


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2_000))
def test_any_bytes(data: bytes) -> None:
    _assert_well_formed(_strict(data))
    _assert_well_formed(classify_payload(data))


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=2_000), st.none() | st.text(max_size=200))
def test_any_text_and_subject(text: str, subject: str | None) -> None:
    _assert_well_formed(_strict(text, subject))
    _assert_well_formed(classify(PipelineInput(payload=text, subject=subject)))


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_any_json_value(value: Any) -> None:
    _assert_well_formed(_strict(value))
    _assert_well_formed(classify(PipelineInput(payload=value)))


@settings(max_examples=250, deadline=None)
@given(shaped_objects)
def test_objects_shaped_like_alerts(value: Any) -> None:
    _assert_well_formed(_strict(value))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["cloudwatch_alarm_eventbridge.json", "securityhub_findings_imported.json",
                        "guardduty_finding.json", "health_event.json", "cost_anomaly_eventbridge.json",
                        "cloudwatch_alarm_lambda_action.json", "securityhub_asff_finding.json"]),
       st.data())  # fmt: skip
def test_real_events_with_one_field_replaced_by_junk(fixture: str, data: st.DataObject) -> None:
    # Given a real event where one nested value became something unexpected
    event = load_event(fixture)
    target = event
    path = []
    while isinstance(target, dict) and target:
        key = data.draw(st.sampled_from(sorted(target)))
        path.append(key)
        if not isinstance(target[key], dict) or data.draw(st.booleans()):
            target[key] = data.draw(json_values)
            break
        target = target[key]
    # When / Then
    _assert_well_formed(_strict(event))
