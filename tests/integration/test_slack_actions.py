"""Act from Slack (issue 14) end to end on moto: a signed `block_actions` click on the events endpoint Lambda → the
chat worker Lambda (async, in process) → `chat.update` on a loopback Slack Web API server, the incident record in
DynamoDB, and for Analyze with AI an execution of the alert pipeline started in Step Functions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import boto3
import pytest

from functions.chat import events_handler
from functions.format.logic import format_output
from functions.post import logic as post_logic
from functions.shared.adapters.conversations import ConversationTable
from functions.shared.adapters.slack_api import SlackApi
from functions.shared.models import PipelineInput, PostInput
from functions.shared.slack_actions import (
    ACKNOWLEDGE_ACTION_ID,
    ANALYZE_ACTION_ID,
    MUTE_ACTION_ID,
    heartbeat_execution_name,
    on_demand_target,
)
from tests.integration.test_chat_lambdas import api_gateway_event
from tests.support.chat_aws import BOT_TOKEN, REGION, SIGNING_SECRET, TABLE, WORKER, chat_account
from tests.support.events import load_event
from tests.support.fake_slack_api import FakeSlackApi
from tests.support.slack_safety import slack_safety_violations
from tests.support.slack_signing import slack_signature
from tests.unit.test_format_message import alarm_alert, format_input

CRITICAL_CHANNEL = "C0ALERTS1"
HEARTBEAT_CHANNEL = "C0HEARTB1"
ONCALL = "U0ONCALL1"
MACHINE = "alert-intel-pipeline"
ALARM_ARN = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:api-errors"


@pytest.fixture
def slack():
    with FakeSlackApi(token=BOT_TOKEN) as fake:
        yield fake


@pytest.fixture
def account(monkeypatch, slack):
    channels = {"critical": CRITICAL_CHANNEL, "heartbeat": HEARTBEAT_CHANNEL}
    monkeypatch.setenv("SLACK_ALERT_CHANNELS", json.dumps(channels))
    monkeypatch.setenv("STATE_MACHINE_ARN", f"arn:aws:states:{REGION}:123456789012:stateMachine:{MACHINE}")
    with chat_account(monkeypatch, slack_api_url=slack.api_url) as acc:
        role = boto3.client("iam", region_name=REGION).create_role(RoleName="pipeline", AssumeRolePolicyDocument="{}")[
            "Role"
        ]["Arn"]
        definition = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
        arn = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
            name=MACHINE, definition=json.dumps(definition), roleArn=role
        )["stateMachineArn"]
        monkeypatch.setenv("STATE_MACHINE_ARN", arn)
        yield acc


def click(account, action: dict[str, Any], channel: str, message_ts: str, *, user: str = ONCALL) -> dict:
    """Slack's block_actions request for one button, form-encoded and signed, through API Gateway."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "oncall", "team_id": "T0TEAM001"},
        "api_app_id": "A0APP0001",
        "team": {"id": "T0TEAM001", "domain": "example"},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
        "channel": {"id": channel, "name": "alerts"},
        "message": {"type": "message", "ts": message_ts, "text": "whatever the message says"},
        "response_url": "https://hooks.slack.com/actions/T0TEAM001/1/abc",
        "trigger_id": "1.2.3",
        "actions": [{**action, "block_id": "b1", "action_ts": f"{datetime.now(UTC).timestamp():.6f}"}],
    }
    body = "payload=" + quote(json.dumps(payload))
    stamp = str(int(datetime.now(UTC).timestamp()))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": slack_signature(SIGNING_SECRET, stamp, body),
    }
    return events_handler.handler(api_gateway_event(body, headers), account.context("alert-intel-slack-events"))


def button(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    return next(e for b in blocks if b["type"] == "actions" for e in b["elements"] if e.get("action_id") == action_id)


def footer_texts(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["text"] for e in [b for b in blocks if b["type"] == "context"][-1]["elements"]]


def incident_of(post_input: PostInput) -> str:
    assert post_input.incident is not None
    return post_input.incident.key


def post_alarm(slack: FakeSlackApi, at: datetime) -> tuple[PostInput, str]:
    details = {"alarm_name": "api-errors", "alarm_arn": ALARM_ARN, "state": "ALARM", "metric_name": "Errors"}
    fi = format_input(alert=alarm_alert(details=details, occurred_at=at.isoformat()))
    output = format_output(fi, now=at, interactive=True)
    post_input = PostInput.model_validate(output.model_dump(mode="json"))
    result = post_logic.post_incident(
        post_input, SlackApi(BOT_TOKEN, slack.api_url), CRITICAL_CHANNEL, ConversationTable(TABLE), now=at
    )
    assert result.ts
    return post_input, result.ts


def test_acknowledge_shows_who_took_it_and_records_it(account, slack) -> None:
    # Given an incident's main message posted with the bot token, its buttons drawn by Format
    fired = datetime.now(UTC)
    post_input, ts = post_alarm(slack, fired)
    main = slack.posts()[0].args["blocks"]
    assert len(main) <= 6

    # When the on-call engineer clicks Acknowledge on it
    response = click(account, button(main, ACKNOWLEDGE_ACTION_ID), CRITICAL_CHANNEL, ts)

    # Then Slack got its 200 at once, the worker ran, and the message now says who took it
    assert response["statusCode"] == 200
    assert [(i.function_name, i.error_type) for i in account.lambdas.invocations] == [(WORKER, None)]
    [update] = [c for c in slack.calls if c.method == "chat.update"]
    assert (update.args["channel"], update.args["ts"]) == (CRITICAL_CHANNEL, ts)
    assert footer_texts(update.args["blocks"])[0].startswith(f"👀 Acknowledged by <@{ONCALL}> at ")
    assert len(update.args["blocks"]) == len(main)
    # the one mention is the clicking user's, from Slack's signed payload; nothing else is control syntax
    shown = json.loads(json.dumps(update.args).replace(f"<@{ONCALL}>", "the on-call engineer"))
    assert slack_safety_violations({"text": shown["text"], "blocks": shown["blocks"]}, posted=False) == []

    # And the incident record says it too, with its counts untouched
    record = ConversationTable(TABLE).incident(incident_of(post_input))
    assert record is not None
    assert record["acknowledged_by"] == ONCALL
    assert record["fire_count"] == 1 and record["status"] == "open"


def test_mute_keeps_refires_in_the_thread_for_an_hour(account, slack) -> None:
    # Given an incident's main message, muted from Slack
    fired = datetime.now(UTC)
    post_input, ts = post_alarm(slack, fired)
    main = slack.posts()[0].args["blocks"]
    assert click(account, button(main, MUTE_ACTION_ID), CRITICAL_CHANNEL, ts)["statusCode"] == 200
    [mute_update] = [c for c in slack.calls if c.method == "chat.update"]
    shown = footer_texts(mute_update.args["blocks"])
    assert any(t.startswith("🔕 Muted until ") and f"<@{ONCALL}>" in t for t in shown)
    record = ConversationTable(TABLE).incident(incident_of(post_input))
    assert record is not None
    until = datetime.fromisoformat(record["muted_until"])
    assert timedelta(minutes=59) < until - fired <= timedelta(minutes=61)
    notes = [c for c in slack.posts() if c.args.get("thread_ts") == ts and "muted this incident" in c.args["text"]]
    assert len(notes) == 1

    # When the alarm fires again 10 minutes later, and again after the hour
    updates_before = len([c for c in slack.calls if c.method == "chat.update"])
    post_alarm_again = post_logic.post_incident
    web, table = SlackApi(BOT_TOKEN, slack.api_url), ConversationTable(TABLE)
    post_alarm_again(post_input, web, CRITICAL_CHANNEL, table, now=fired + timedelta(minutes=10))
    updates_while_muted = len([c for c in slack.calls if c.method == "chat.update"])
    post_alarm_again(post_input, web, CRITICAL_CHANNEL, table, now=fired + timedelta(minutes=75))

    # Then the muted re-fire only replied in the thread; the later one updated the header again
    assert updates_while_muted == updates_before
    updates = [c for c in slack.calls if c.method == "chat.update"]
    assert len(updates) == updates_before + 1
    assert updates[-1].args["blocks"][0]["text"]["text"].startswith("🔁 3x ")
    refires = [c for c in slack.posts() if c.args.get("thread_ts") == ts and "fired again" in c.args["text"]]
    assert len(refires) == 2
    assert [c for c in slack.posts() if not c.args.get("thread_ts")] == slack.posts()[:1]


def test_a_click_on_another_message_or_channel_or_an_unknown_button_does_nothing(account, slack) -> None:
    fired = datetime.now(UTC)
    post_input, ts = post_alarm(slack, fired)
    ack = button(slack.posts()[0].args["blocks"], ACKNOWLEDGE_ACTION_ID)
    # the right incident, but clicked on another message; a channel the bot does not post alerts to; a button
    # that is not ours
    responses = [
        click(account, ack, CRITICAL_CHANNEL, "1700000000.000001"),
        click(account, ack, "C0ELSEWHERE", ts),
        click(account, {"type": "button", "action_id": "delete_everything", "value": "x"}, CRITICAL_CHANNEL, ts),
    ]
    assert [r["statusCode"] for r in responses] == [200, 200, 200]
    # only the first reached the worker (the channel and the action are checked at the endpoint), and it did nothing
    assert [i.error_type for i in account.lambdas.invocations] == [None]
    assert [c for c in slack.calls if c.method == "chat.update"] == []
    record = ConversationTable(TABLE).incident(incident_of(post_input))
    assert record is not None and "acknowledged_by" not in record


def test_analyze_with_ai_starts_the_critical_pipeline_for_the_heartbeat_alert(account, slack) -> None:
    # Given a heartbeat alert's run (its input as ingest started it) and its message in the heartbeat channel
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    heartbeat = PipelineInput(
        route="heartbeat", dedup_key="custom-abc123", delivery="sns", payload=load_event("heartbeat_sns.json")
    )
    sfn.start_execution(
        stateMachineArn=machine, name=heartbeat_execution_name("custom-abc123"), input=heartbeat.model_dump_json()
    )
    message_ts = SlackApi(BOT_TOKEN, slack.api_url).post_message(HEARTBEAT_CHANNEL, "💚 HEARTBEAT: nightly job")
    analyze = {
        "type": "button",
        "action_id": ANALYZE_ACTION_ID,
        "value": "custom-abc123",
        "text": {"type": "plain_text", "text": "Analyze with AI"},
    }

    # When someone clicks Analyze with AI on it, twice
    first = click(account, analyze, HEARTBEAT_CHANNEL, message_ts)
    second = click(account, analyze, HEARTBEAT_CHANNEL, message_ts)

    # Then one critical run of the same alert was started, named for the clicked message's thread
    assert (first["statusCode"], second["statusCode"]) == (200, 200)
    assert [i.error_type for i in account.lambdas.invocations] == [None, None]
    runs = [e for e in sfn.list_executions(stateMachineArn=machine)["executions"] if e["name"].startswith("ai-")]
    assert len(runs) == 1
    target = on_demand_target(runs[0]["name"])
    assert target is not None and (target.channel, target.thread_ts) == (HEARTBEAT_CHANNEL, message_ts)
    started = PipelineInput.model_validate_json(sfn.describe_execution(executionArn=runs[0]["executionArn"])["input"])
    assert started.route == "critical"
    assert started.payload == heartbeat.payload and started.dedup_key == heartbeat.dedup_key

    # And both clicks were answered in the heartbeat's thread, mentioning only the clicking user
    replies = [c for c in slack.posts() if c.args.get("thread_ts") == message_ts]
    assert len(replies) == 2
    assert f"<@{ONCALL}> asked for an AI analysis" in replies[0].args["text"]
    assert "already requested" in replies[1].args["text"]


def test_analyze_with_ai_without_a_heartbeat_run_starts_nothing(account, slack) -> None:
    message_ts = SlackApi(BOT_TOKEN, slack.api_url).post_message(HEARTBEAT_CHANNEL, "💚 HEARTBEAT")
    analyze = {"type": "button", "action_id": ANALYZE_ACTION_ID, "value": "never-ran-1"}
    assert click(account, analyze, HEARTBEAT_CHANNEL, message_ts)["statusCode"] == 200
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    assert sfn.list_executions(stateMachineArn=machine)["executions"] == []
    [reply] = [c for c in slack.posts() if c.args.get("thread_ts") == message_ts]
    assert "could not be read back" in reply.args["text"]


def test_the_on_demand_run_is_formatted_without_incident_buttons_and_posted_in_the_heartbeat_thread(
    account, slack
) -> None:
    from functions.format.handler import handler as format_handler
    from functions.local_runner.moto_lambda import FakeLambdaContext
    from functions.post.handler import handler as post_handler
    from functions.shared.slack_actions import on_demand_execution_name

    # Given the critical run that Analyze with AI started for a heartbeat message, at its Format and Post states
    heartbeat_ts = SlackApi(BOT_TOKEN, slack.api_url).post_message(HEARTBEAT_CHANNEL, "💚 HEARTBEAT: nightly job")
    name = on_demand_execution_name(HEARTBEAT_CHANNEL, heartbeat_ts, "custom-abc123")
    state = format_input(alert=alarm_alert(dedup_key="custom-abc123")).model_dump(mode="json")
    run = {"state": state, "execution_id": f"arn:aws:states:{REGION}:123456789012:execution:{MACHINE}:{name}"}
    formatted = format_handler({**run, "execution_name": name}, FakeLambdaContext(function_name="alert-intel-format"))
    ordinary = format_handler({**run, "execution_name": "critical-x"}, FakeLambdaContext(function_name="f"))

    # When Post gets it, as the state machine hands it over
    posted = post_handler({**formatted, "execution_name": name}, FakeLambdaContext(function_name="alert-intel-post"))

    # Then the analysis and its evidence are replies under the heartbeat message, nothing new in the channel
    def action_ids(message: dict[str, Any]) -> list[str]:
        return [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]

    assert ACKNOWLEDGE_ACTION_ID not in action_ids(formatted["message"])
    assert ACKNOWLEDGE_ACTION_ID in action_ids(ordinary["message"])  # a run ingest started keeps them
    replies = slack.posts()[1:]
    assert [(c.args["channel"], c.args.get("thread_ts")) for c in replies] == [(HEARTBEAT_CHANNEL, heartbeat_ts)] * 2
    assert replies[0].args["blocks"] == formatted["message"]["blocks"]
    assert (posted["channel"], posted["thread_ts"]) == (HEARTBEAT_CHANNEL, heartbeat_ts)
