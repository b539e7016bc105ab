"""`alert-intel run FILE [FILE ...] --out DIR --slack web`: a sequence against one simulated account and the local
Slack Web API server, every call in DIR/slack_calls.json (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from functions.local_runner.cli import EXIT_OK, main
from tests.support.analyze_samples import good_claude_analysis
from tests.support.events import EVENTS_DIR as EVENTS
from tests.support.fake_bedrock import FakeBedrock

ALARM = 'ALARM: "ImageProcessor-Invocations-Spike" in US East (N. Virginia)'
OK = 'OK: "ImageProcessor-Invocations-Spike" in US East (N. Virginia)'


def alarm_event(state: str, old: str, at: str, subject: str) -> dict[str, Any]:
    event = json.loads((EVENTS / "cloudwatch_alarm_sns.json").read_text())
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    message.update(NewStateValue=state, OldStateValue=old, StateChangeTime=at)
    if state == "OK":
        message["NewStateReason"] = (
            "Threshold Crossed: 2 datapoints [812.0, 790.0] were not greater than the threshold."
        )
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    event["Records"][0]["Sns"]["Subject"] = subject
    return event


def test_alarm_duplicate_ok_refire_is_one_message_with_its_thread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given ALARM, the same ALARM delivered again, OK 20 minutes later and a re-fire 30 minutes after that
    events = [
        alarm_event("ALARM", "OK", "2026-11-25T18:52:03.512+0000", ALARM),
        alarm_event("ALARM", "OK", "2026-11-25T18:52:03.512+0000", ALARM),
        alarm_event("OK", "ALARM", "2026-11-25T19:12:03.512+0000", OK),
        alarm_event("ALARM", "OK", "2026-11-25T19:42:03.512+0000", ALARM),
    ]
    files = []
    for number, event in enumerate(events, start=1):
        path = tmp_path / f"{number}.json"
        path.write_text(json.dumps(event))
        files.append(str(path))

    # When they run in order through the state machine, with Claude on a local Bedrock server, posting with the bot
    # token to the local Web API
    with FakeBedrock() as bedrock:
        monkeypatch.setenv("ALERT_INTEL_MODEL_ID", "us.anthropic.claude-haiku-4-5-20251001-v1:0")
        monkeypatch.setenv("ANTHROPIC_BEDROCK_BASE_URL", bedrock.url)
        for _ in range(3):  # enough answers for every ALARM, should each one (wrongly) call the model
            bedrock.answer_tool_use(good_claude_analysis())
        code = main(["run", *files, "--out", str(tmp_path / "out"), "--slack", "web"])

    # Then every run succeeded, and DIR/slack_calls.json lists every call in the documented shape
    assert code == EXIT_OK
    calls = json.loads((tmp_path / "out" / "slack_calls.json").read_text())
    assert all(set(call) == {"method", "channel", "ts", "thread_ts", "text", "blocks"} for call in calls)
    # And there is one top-level message; the rest is in its thread or edits it
    top = [c for c in calls if c["method"] == "chat.postMessage" and c["thread_ts"] is None]
    assert len(top) == 1
    ts = top[0]["ts"]
    assert len(top[0]["blocks"]) <= 6
    in_thread = [c for c in calls if c["method"] == "chat.postMessage" and c["thread_ts"] == ts]
    updates = [c for c in calls if c["method"] == "chat.update"]
    assert len(in_thread) == 3  # the evidence, the resolution line, the re-fire
    assert [u["ts"] for u in updates] == [ts, ts]
    assert updates[0]["blocks"][0]["text"]["text"].startswith("✅ Resolved 19:12 UTC after 20 min: ")
    assert updates[1]["blocks"][0]["text"]["text"].startswith("🔁 2x ")
    assert in_thread[0]["blocks"][0]["text"]["text"].startswith("*Evidence*")
    assert in_thread[1]["text"].startswith("✅ Resolved 19:12 UTC: ImageProcessor-Invocations-Spike")
    assert "same evidence, no new analysis" in in_thread[2]["text"]
    # And the model was called once: the OK and the re-fire went from "Check Incident" straight to Post
    assert len(bedrock.requests) == 1
    # And the repeated delivery started no execution, as ingest's execution names guarantee
    out = capsys.readouterr().out
    assert "1 repeated deliveries started no execution" in out
    assert "run 1: SUCCEEDED" in out and "Check Incident: investigate (new incident)" in out
    assert "Check Incident: update (resolution: no investigation)" in out
    assert "Check Incident: update (re-fire of an open incident, same evidence)" in out
    executions = json.loads((tmp_path / "out" / "executions.json").read_text())
    assert [e["status"] for e in executions] == ["SUCCEEDED"] * 3
    states = [[s["name"] for s in e["states"]] for e in executions]
    assert "Analyze Alert" in states[0]
    for later in states[1:]:
        assert "Post Incident Update" in later
        assert not {"Gather Context", "Analyze Alert", "Format Slack Message"} & set(later)


def test_two_alerts_of_one_new_incident_at_once_are_one_message_and_one_model_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two ALARMs of one alarm, three seconds apart: distinct alerts (two executions) of one new incident
    files = []
    for number, at in enumerate(("2026-11-25T18:52:03.512+0000", "2026-11-25T18:52:06.512+0000"), start=1):
        path = tmp_path / f"{number}.json"
        path.write_text(json.dumps(alarm_event("ALARM", "OK", at, ALARM)))
        files.append(str(path))

    # When both executions start at once (neither has posted when the other checks the incident), with Claude on a
    # local Bedrock server and the bot token
    with FakeBedrock() as bedrock:
        monkeypatch.setenv("ALERT_INTEL_MODEL_ID", "us.anthropic.claude-haiku-4-5-20251001-v1:0")
        monkeypatch.setenv("ANTHROPIC_BEDROCK_BASE_URL", bedrock.url)
        monkeypatch.setenv("INCIDENT_CLAIM_WAIT_SECONDS", "2")  # moto's Wait state really sleeps
        for _ in range(2):  # enough answers should both (wrongly) call the model
            bedrock.answer_tool_use(good_claude_analysis())
        code = main(["run", *files, "--together", "--out", str(tmp_path / "out"), "--slack", "web"])

    # Then both runs succeeded, with one top-level message: the evidence and the other alert are in its thread
    assert code == EXIT_OK
    calls = json.loads((tmp_path / "out" / "slack_calls.json").read_text())
    top = [c for c in calls if c["method"] == "chat.postMessage" and c["thread_ts"] is None]
    assert len(top) == 1
    in_thread = [c for c in calls if c["method"] == "chat.postMessage" and c["thread_ts"] == top[0]["ts"]]
    assert len(in_thread) == 2
    assert in_thread[0]["blocks"][0]["text"]["text"].startswith("*Evidence*")
    assert in_thread[1]["text"].startswith("🔁 2nd alert: fired again")
    assert [c["ts"] for c in calls if c["method"] == "chat.update"] == [top[0]["ts"]]
    # And the model was called once: the run that lost the claim waited for the other's message
    assert len(bedrock.requests) == 1
    executions = json.loads((tmp_path / "out" / "executions.json").read_text())
    states = sorted(([s["name"] for s in e["states"]] for e in executions), key=len)
    waited, investigated = states
    assert "Analyze Alert" in investigated and "Wait For The First Message" not in investigated
    assert {"Wait For The First Message", "Check Incident Again", "Post Incident Update"} <= set(waited)
    assert not {"Gather Context", "Analyze Alert"} & set(waited)
    out = capsys.readouterr().out
    assert "Check Incident: update (re-fire of an open incident, same evidence) after " in out


def test_two_alarms_on_one_function_at_once_are_one_message_and_one_model_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the function's invocation-spike alarm and its error alarm, firing two seconds apart: two incidents by
    # their keys, one by their resource (neither has posted when the other checks)
    spike = alarm_event("ALARM", "OK", "2026-11-25T18:52:03.512+0000", ALARM)
    errors = alarm_event("ALARM", "OK", "2026-11-25T18:52:05.512+0000", ALARM.replace("Invocations-Spike", "Errors"))
    message = json.loads(errors["Records"][0]["Sns"]["Message"])
    message.update(
        AlarmName="ImageProcessor-Errors",
        AlarmArn=message["AlarmArn"].replace("Invocations-Spike", "Errors"),
        AlarmDescription="ImageProcessor errors.",
    )
    message["Trigger"].update(MetricName="Errors", Threshold=10.0)
    errors["Records"][0]["Sns"]["Message"] = json.dumps(message)
    files = []
    for number, event in enumerate((spike, errors), start=1):
        path = tmp_path / f"{number}.json"
        path.write_text(json.dumps(event))
        files.append(str(path))

    # When both executions start at once, with Claude on a local Bedrock server and the bot token
    with FakeBedrock() as bedrock:
        monkeypatch.setenv("ALERT_INTEL_MODEL_ID", "us.anthropic.claude-haiku-4-5-20251001-v1:0")
        monkeypatch.setenv("ANTHROPIC_BEDROCK_BASE_URL", bedrock.url)
        monkeypatch.setenv("INCIDENT_CLAIM_WAIT_SECONDS", "2")  # moto's Wait state really sleeps
        for _ in range(2):
            bedrock.answer_tool_use(good_claude_analysis())
        code = main(["run", *files, "--together", "--out", str(tmp_path / "out"), "--slack", "web"])

    # Then there is one top-level message; the other alarm is in its thread, and the model was called once
    assert code == EXIT_OK
    calls = json.loads((tmp_path / "out" / "slack_calls.json").read_text())
    top = [c for c in calls if c["method"] == "chat.postMessage" and c["thread_ts"] is None]
    assert len(top) == 1
    in_thread = [c for c in calls if c["method"] == "chat.postMessage" and c["thread_ts"] == top[0]["ts"]]
    assert len(in_thread) == 2  # the evidence, and the other alarm's line
    assert len(bedrock.requests) == 1
    executions = json.loads((tmp_path / "out" / "executions.json").read_text())
    waited = [e for e in executions if "Wait For The First Message" in [s["name"] for s in e["states"]]]
    assert len(waited) == 1 and "Analyze Alert" not in [s["name"] for s in waited[0]["states"]]
