"""One execution per alarm state change whichever path delivers it; alert-intel's own alarms never enter."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from functions.ingest.alarm_routing import route_alarm_state_changes
from functions.ingest.logic import read_event

EVENTS = Path(__file__).resolve().parents[1] / "events"
CRITICAL = "arn:aws:sns:us-east-1:123456789012:alert-intel-dev-critical-alerts"
HEARTBEAT = "arn:aws:sns:us-east-1:123456789012:alert-intel-dev-heartbeat-alerts"
TOPICS = (CRITICAL, HEARTBEAT)
OWN = "alert-intel-dev-"


def _event(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


def _eventbridge_alarm(alarm_name: str = "ImageProcessor-Errors") -> Any:
    event = copy.deepcopy(_event("cloudwatch_alarm_eventbridge.json"))
    event["detail"]["alarmName"] = alarm_name
    return event


def _lookup(actions: dict[str, list[str]]):
    calls: list[str] = []

    def lookup(name: str, region: str | None) -> dict[str, Any] | None:
        calls.append(name)
        return {"AlarmName": name, **actions}

    return lookup, calls


def test_an_alarm_that_notifies_the_heartbeat_topic_runs_once_from_sns_with_its_route() -> None:
    # Given an alarm whose ALARM action is the heartbeat topic: the rule delivers it too
    lookup, _ = _lookup({"AlarmActions": [HEARTBEAT]})
    inputs = read_event(_eventbridge_alarm()).inputs

    # When ingest routes the EventBridge copy
    routing = route_alarm_state_changes(inputs, lookup=lookup, alert_topics=TOPICS, own_alarm_prefix=OWN)

    # Then it starts nothing (the SNS copy runs, as heartbeat), and says why
    assert routing.kept == []
    assert "delivered by its SNS action" in routing.notices[0]


def test_an_alarm_that_sends_nowhere_we_listen_runs_from_eventbridge() -> None:
    lookup, calls = _lookup({"AlarmActions": ["arn:aws:sns:us-east-1:123456789012:someone-else"]})
    inputs = read_event(_eventbridge_alarm()).inputs
    routing = route_alarm_state_changes(inputs, lookup=lookup, alert_topics=TOPICS, own_alarm_prefix=OWN)
    assert routing.kept == inputs and calls == ["ImageProcessor-Errors"]


def test_an_unreadable_alarm_still_runs() -> None:
    def lookup(name: str, region: str | None) -> dict[str, Any] | None:
        raise RuntimeError("AccessDenied")

    inputs = read_event(_eventbridge_alarm()).inputs
    routing = route_alarm_state_changes(inputs, lookup=lookup, alert_topics=TOPICS, own_alarm_prefix=OWN)
    assert routing.kept == inputs


def test_the_sns_copy_is_always_kept() -> None:
    lookup, calls = _lookup({"AlarmActions": [CRITICAL]})
    inputs = read_event(_event("cloudwatch_alarm_sns.json")).inputs
    routing = route_alarm_state_changes(inputs, lookup=lookup, alert_topics=TOPICS, own_alarm_prefix=OWN)
    assert routing.kept == inputs and calls == []


def test_own_meta_alarms_never_enter_the_pipeline_on_any_path() -> None:
    lookup, _ = _lookup({})
    sns = copy.deepcopy(_event("cloudwatch_alarm_sns.json"))
    message = json.loads(sns["Records"][0]["Sns"]["Message"])
    message["AlarmName"] = "alert-intel-dev-executions-failed"
    sns["Records"][0]["Sns"]["Message"] = json.dumps(message)
    inputs = [
        *read_event(_eventbridge_alarm("alert-intel-dev-executions-failed")).inputs,
        *read_event(sns).inputs,
    ]
    routing = route_alarm_state_changes(inputs, lookup=lookup, alert_topics=TOPICS, own_alarm_prefix=OWN)
    assert routing.kept == []
    assert all("alert-intel's own" in notice for notice in routing.notices)


def test_other_alerts_pass_untouched() -> None:
    lookup, calls = _lookup({})
    inputs = read_event(_event("budget_notification_sns.json")).inputs
    routing = route_alarm_state_changes(inputs, lookup=lookup, alert_topics=TOPICS, own_alarm_prefix=OWN)
    assert routing.kept == inputs and calls == []
