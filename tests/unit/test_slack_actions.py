"""Act from Slack (issue 14): what a verified click becomes at the endpoint, what the worker does with it, the
buttons Format draws, and the on-demand run's reply target. Fakes for AWS and Slack; the Lambdas on moto are in
tests/integration/test_slack_actions.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.signature import SignatureVerifier

from functions.chat.actions import ActionDeps, act_on_click
from functions.chat.events import HttpResponse, handle_slack_request
from functions.chat.store import InMemoryConversationStore
from functions.format.logic import format_message
from functions.post.on_demand import post_in_thread, reply_target
from functions.shared.models import PipelineInput, PostInput, SlackMessage
from functions.shared.slack_actions import (
    ACKNOWLEDGE_ACTION_ID,
    ANALYZE_ACTION_ID,
    MUTE_ACTION_ID,
    SlackActionRequest,
    is_muted,
    on_demand_execution_name,
    on_demand_target,
    with_status_line,
)
from tests.support.slack_signing import slack_signature
from tests.unit.test_format_message import alarm_alert, format_input

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0ALERTS1"
HEARTBEAT = "C0HEARTB1"
CHANNELS = {"critical": CHANNEL, "heartbeat": HEARTBEAT}
TS = "1732560000.000100"
NOW = datetime(2026, 11, 25, 6, 15, tzinfo=UTC)
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Acted:
    def __init__(self) -> None:
        self.requests: list[SlackActionRequest] = []

    def __call__(self, request: SlackActionRequest) -> None:
        self.requests.append(request)


def unused_dispatch(request: object) -> None:
    raise AssertionError("a click is not a question")


def block_actions(action_id: str, value: Any = "alarm#arn:aws:cloudwatch:eu-west-1:1:alarm:x", **changes: Any) -> dict:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": "U0ONCALL1", "team_id": "T0TEAM001"},
        "team": {"id": "T0TEAM001"},
        "container": {"type": "message", "message_ts": TS, "channel_id": CHANNEL},
        "channel": {"id": CHANNEL},
        "message": {"ts": TS, "text": "<!channel> whatever"},
        "actions": [{"action_id": action_id, "value": value, "type": "button", "action_ts": "1732560001.1"}],
    }
    payload.update(changes)
    return payload


def form(payload: Any) -> str:
    return "payload=" + quote(payload if isinstance(payload, str) else json.dumps(payload))


def send(body: str, act: Acted | None, claims: InMemoryConversationStore | None = None, *, secret: str = SECRET):
    stamp = str(int(datetime.now(UTC).timestamp()))
    headers = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": slack_signature(secret, stamp, body)}
    return handle_slack_request(
        body,
        headers,
        SignatureVerifier(SECRET),
        claims or InMemoryConversationStore(),
        unused_dispatch,
        act=act,
        action_channels=frozenset(CHANNELS.values()),
    )


# --- The endpoint --------------------------------------------------------------------------------------------


def test_a_signed_click_is_handed_over_with_the_verified_user_and_message() -> None:
    act = Acted()
    response = send(form(block_actions(ACKNOWLEDGE_ACTION_ID)), act)
    assert (response.status, response.outcome) == (200, "action_dispatched")
    [request] = act.requests
    assert (request.kind, request.user, request.channel, request.message_ts) == (
        "acknowledge",
        "U0ONCALL1",
        CHANNEL,
        TS,
    )
    assert request.value == "alarm#arn:aws:cloudwatch:eu-west-1:1:alarm:x"


def test_an_unsigned_or_wrongly_signed_click_is_401_and_does_nothing() -> None:
    act = Acted()
    assert send(form(block_actions(MUTE_ACTION_ID)), act, secret="someone-else").status == 401
    assert act.requests == []


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (block_actions("delete_everything"), "ignored:unknown action"),
        (block_actions(ACKNOWLEDGE_ACTION_ID, channel={"id": "C0ELSEWHERE"}), "ignored:channel not configured"),
        (block_actions(ACKNOWLEDGE_ACTION_ID, user={"id": "<!channel>"}), "ignored:malformed action"),
        (block_actions(ACKNOWLEDGE_ACTION_ID, value="x" * 2001), "ignored:malformed action"),
        (block_actions(ACKNOWLEDGE_ACTION_ID, value={"nested": 1}), "ignored:malformed action"),
        (
            block_actions(ACKNOWLEDGE_ACTION_ID, container={"message_ts": "not a ts"}, message={}),
            "ignored:malformed action",
        ),
        (block_actions(ACKNOWLEDGE_ACTION_ID, actions=[]), "ignored:no action"),
        ({**block_actions(ACKNOWLEDGE_ACTION_ID), "type": "view_submission"}, "ignored:interaction view_submission"),
    ],
    ids=["unknown", "channel", "user", "long value", "object value", "ts", "no action", "other type"],
)
def test_clicks_that_are_not_ours_or_malformed_are_acknowledged_with_no_effect(payload: dict, reason: str) -> None:
    act = Acted()
    response = send(form(payload), act)
    assert (response.status, response.outcome) == (200, reason)
    assert act.requests == []


def test_without_an_action_dispatcher_a_click_is_acknowledged_and_dropped() -> None:
    response = send(form(block_actions(ACKNOWLEDGE_ACTION_ID)), None)
    assert (response.status, response.outcome) == (200, "ignored:interactivity off")


@pytest.mark.parametrize("body", ["payload=", "payload=not%20json", "payload=%5B1%5D", "payload=1&payload=2"])
def test_a_form_without_one_json_object_is_400(body: str) -> None:
    response = send(body, Acted())
    assert (response.status, response.outcome) == (400, "bad_request")


def test_the_same_click_delivered_twice_is_handed_over_once() -> None:
    act, claims = Acted(), InMemoryConversationStore()
    body = form(block_actions(MUTE_ACTION_ID))
    assert [send(body, act, claims).outcome for _ in range(2)] == ["action_dispatched", "duplicate"]
    assert len(act.requests) == 1


@FAST
@given(text=st.text(max_size=300), action_id=st.sampled_from([ACKNOWLEDGE_ACTION_ID, ANALYZE_ACTION_ID, "x"]))
def test_any_signed_form_body_gets_200_or_400(text: str, action_id: str) -> None:
    for body in (form(text), "payload=" + text, form(block_actions(action_id, value=text))):
        response: HttpResponse = send(body, Acted())
        assert response.status in {200, 400}, (body, response)


# --- The worker ------------------------------------------------------------------------------------------------


class Records:
    def __init__(self, records: dict[str, dict[str, Any]]) -> None:
        self.records = records
        self.updates: list[tuple[str, dict[str, Any]]] = []

    def incident(self, key: str) -> dict[str, Any] | None:
        return json.loads(json.dumps(self.records[key])) if key in self.records else None

    def update_incident(self, key: str, fields: dict[str, Any], *, message_ts: str) -> dict[str, Any]:
        self.updates.append((key, fields))
        self.records[key].update(fields)
        return json.loads(json.dumps(self.records[key]))


class Slack:
    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []

    def post_message(self, channel: str, text: str, blocks: Any = None, thread_ts: str | None = None) -> str:
        self.posts.append({"channel": channel, "text": text, "blocks": blocks, "thread_ts": thread_ts})
        return f"1732560099.{len(self.posts):06d}"

    def update_message(self, channel: str, ts: str, text: str, blocks: Any = None) -> None:
        self.updates.append({"channel": channel, "ts": ts, "text": text, "blocks": blocks})


class Runs:
    def __init__(self, inputs: dict[str, str]) -> None:
        self.inputs = inputs
        self.started: list[tuple[str, str]] = []

    def execution_input(self, name: str) -> str | None:
        return self.inputs.get(name)

    def start(self, name: str, input_json: str) -> Literal["started", "duplicate"]:
        self.started.append((name, input_json))
        self.inputs[name] = input_json
        return "started"


KEY = "alarm#arn:aws:cloudwatch:eu-west-1:123456789012:alarm:api-errors"


def incident_record(**changes: Any) -> dict[str, Any]:
    main = format_message(format_input(), now=NOW, interactive=True)
    record = {"channel": CHANNEL, "ts": TS, "text": main.text, "blocks": main.blocks, "fire_count": 2}
    return {**record, **changes}


def click(kind: str, value: str = KEY, channel: str = CHANNEL, ts: str = TS) -> SlackActionRequest:
    return SlackActionRequest.model_validate(
        {"kind": kind, "value": value, "user": "U0ONCALL1", "channel": channel, "message_ts": ts}
    )


def test_acknowledge_records_who_and_shows_it_in_the_footer() -> None:
    records, slack = Records({KEY: incident_record()}), Slack()
    result = act_on_click(click("acknowledge"), ActionDeps(records, slack, alert_channels=CHANNELS), now=NOW)
    assert result.outcome == "acknowledged"
    [(key, fields)] = records.updates
    assert key == KEY and fields["acknowledged_by"] == "U0ONCALL1" and fields["acknowledged_at"] == NOW.isoformat()
    assert "fire_count" not in fields  # what Post counts is left to Post
    [update] = slack.updates
    assert (update["channel"], update["ts"]) == (CHANNEL, TS)
    footer = [b for b in update["blocks"] if b["type"] == "context"][-1]
    assert footer["elements"][0]["text"] == "👀 Acknowledged by <@U0ONCALL1> at 06:15 UTC"
    assert len(update["blocks"]) == len(incident_record()["blocks"])
    assert slack.posts == []


def test_mute_sets_an_hour_and_says_so_in_the_thread() -> None:
    records, slack = Records({KEY: incident_record()}), Slack()
    result = act_on_click(click("mute"), ActionDeps(records, slack, alert_channels=CHANNELS), now=NOW)
    assert result.outcome == "muted"
    assert records.records[KEY]["muted_until"] == (NOW + timedelta(hours=1)).isoformat()
    assert is_muted(records.records[KEY], NOW + timedelta(minutes=59))
    assert not is_muted(records.records[KEY], NOW + timedelta(minutes=61))
    [note] = slack.posts
    assert note["thread_ts"] == TS and "until 07:15 UTC" in note["text"]


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (click("acknowledge", ts="1732569999.000001"), "the incident's message is another one"),
        (click("acknowledge", value="alarm#nothing-open"), "no such incident"),
        (click("mute", channel="C0ELSEWHERE"), "channel not configured"),
        (click("analyze", value="custom-abc", channel=CHANNEL), "not the heartbeat channel"),
        (click("analyze", value="../etc", channel=HEARTBEAT), "not a dedup key"),
    ],
)
def test_a_click_acts_only_on_its_own_message(request_: SlackActionRequest, reason: str) -> None:
    records, slack, runs = Records({KEY: incident_record()}), Slack(), Runs({})
    result = act_on_click(request_, ActionDeps(records, slack, runs, CHANNELS), now=NOW)
    assert (result.outcome, result.reason) == ("ignored", reason)
    assert (records.updates, slack.updates, slack.posts, runs.started) == ([], [], [], [])


def test_analyze_starts_the_critical_run_of_the_heartbeat_input_named_for_the_thread() -> None:
    heartbeat = PipelineInput(route="heartbeat", dedup_key="custom-abc", payload={"message": "nightly job done"})
    runs, slack = Runs({"heartbeat-custom-abc": heartbeat.model_dump_json()}), Slack()
    deps = ActionDeps(Records({}), slack, runs, CHANNELS)
    first = act_on_click(click("analyze", value="custom-abc", channel=HEARTBEAT), deps, now=NOW)
    second = act_on_click(click("analyze", value="custom-abc", channel=HEARTBEAT), deps, now=NOW)
    assert (first.outcome, second.outcome) == ("analysis_started", "analysis_already_requested")
    [(name, started)] = runs.started
    assert on_demand_target(name) is not None
    assert PipelineInput.model_validate_json(started) == heartbeat.model_copy(update={"route": "critical"})
    assert [p["thread_ts"] for p in slack.posts] == [TS, TS]


@pytest.mark.parametrize(
    "stored",
    [None, "not json", PipelineInput(route="critical", payload={}).model_dump_json()],
    ids=["no run", "unreadable", "not a heartbeat"],
)
def test_analyze_without_a_readable_heartbeat_run_starts_nothing(stored: str | None) -> None:
    runs, slack = Runs({"heartbeat-custom-abc": stored} if stored else {}), Slack()
    result = act_on_click(click("analyze", "custom-abc", HEARTBEAT), ActionDeps(Records({}), slack, runs, CHANNELS))
    assert result.outcome == "ignored" and runs.started == []
    assert "could not be read back" in slack.posts[0]["text"]


# --- Shared pieces ---------------------------------------------------------------------------------------------


def test_the_on_demand_name_round_trips_and_ingest_names_are_not_on_demand() -> None:
    name = on_demand_execution_name(HEARTBEAT, TS, "x" * 64)
    assert len(name) <= 80
    target = on_demand_target(name)
    assert target is not None and (target.channel, target.thread_ts) == (HEARTBEAT, TS)
    for ingest_name in ("critical-cloudwatch_alarm-abc", "heartbeat-ai-C0HEARTB1-1732560000_000100", None, 7):
        assert on_demand_target(ingest_name) is None


def test_post_answers_an_on_demand_run_in_the_heartbeat_thread_only() -> None:
    name = on_demand_execution_name(HEARTBEAT, TS, "custom-abc")
    assert reply_target(name, CHANNELS) is not None
    assert reply_target(name, {"critical": CHANNEL}) is None  # no heartbeat channel: the usual post
    assert reply_target(on_demand_execution_name(CHANNEL, TS, "custom-abc"), CHANNELS) is None
    target = reply_target(name, CHANNELS)
    assert target is not None
    slack = Slack()
    post_input = PostInput(
        message=SlackMessage(text="main", blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "m"}}]),
        thread=SlackMessage(text="evidence", blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "e"}}]),
    )
    result = post_in_thread(post_input, slack, target)
    assert [(p["channel"], p["thread_ts"], p["text"]) for p in slack.posts] == [
        (HEARTBEAT, TS, "main"),
        (HEARTBEAT, TS, "evidence"),
    ]
    assert result.thread_ts == TS


def test_a_status_line_replaces_its_earlier_one_and_adds_no_block() -> None:
    blocks = incident_record()["blocks"]
    once = with_status_line(blocks, "👀", "👀 Acknowledged by <@U0A> at 06:15 UTC")
    twice = with_status_line(once, "👀", "👀 Acknowledged by <@U0B> at 06:20 UTC")
    assert len(twice) == len(blocks)
    footer = twice[-1]["elements"]
    assert [e["text"] for e in footer].count("👀 Acknowledged by <@U0B> at 06:20 UTC") == 1
    assert not any("U0A" in e["text"] for e in footer)
    assert with_status_line([], "👀", "👀 x") == [{"type": "context", "elements": [{"type": "mrkdwn", "text": "👀 x"}]}]


def test_format_draws_the_buttons_only_when_interactive() -> None:
    fi = format_input()
    plain = format_message(fi, now=NOW)
    interactive = format_message(fi, now=NOW, interactive=True)
    ids = [e.get("action_id") for b in interactive.blocks if b["type"] == "actions" for e in b["elements"]]
    assert ids[-2:] == [ACKNOWLEDGE_ACTION_ID, MUTE_ACTION_ID]
    assert not any(
        e.get("action_id") in (ACKNOWLEDGE_ACTION_ID, MUTE_ACTION_ID)
        for b in plain.blocks
        if b["type"] == "actions"
        for e in b["elements"]
    )
    assert len(interactive.blocks) <= 6
    alert = alarm_alert(dedup_key="cloudwatch_alarm-api-errors-0a1b2c3d4e5f")
    heartbeat = format_message(format_input(route="heartbeat", alert=alert), now=NOW, interactive=True)
    [analyze] = [e for b in heartbeat.blocks if b["type"] == "actions" for e in b["elements"] if "value" in e]
    assert analyze["action_id"] == ANALYZE_ACTION_ID and analyze["value"] == alert["dedup_key"]
    # a key Classify would not have kept is no button value (the run could not be found by it)
    odd = format_message(format_input(route="heartbeat", alert=alarm_alert(dedup_key="a:b")), interactive=True)
    assert not any("value" in e for b in odd.blocks if b["type"] == "actions" for e in b["elements"])


def test_a_click_the_worker_cannot_take_is_500_and_its_claim_released() -> None:
    class Down:
        def __call__(self, request: SlackActionRequest) -> None:
            raise ConnectionError("Lambda unreachable")

    claims = InMemoryConversationStore()
    body = form(block_actions(ACKNOWLEDGE_ACTION_ID))
    stamp = str(int(datetime.now(UTC).timestamp()))
    headers = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": slack_signature(SECRET, stamp, body)}
    response = handle_slack_request(
        body, headers, SignatureVerifier(SECRET), claims, unused_dispatch, act=Down(), action_channels={CHANNEL}
    )
    assert (response.status, response.outcome) == (500, "dispatch_failed")
    assert claims.claims == set()  # Slack's retry, or the user's second click, is handed over


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


@FAST
@given(
    field=st.sampled_from(["user", "channel", "container", "message", "actions", "team", "type"]),
    value=json_values,
)
def test_any_value_in_any_field_of_a_click_is_answered_and_never_half_read(field: str, value: Any) -> None:
    # Given a click of ours with one field replaced by any JSON value
    act = Acted()
    response = send(form({**block_actions(MUTE_ACTION_ID), field: value}), act)

    # Then it is acknowledged, and what is handed over (if anything) is a whole, valid request
    assert response.status == 200
    for request in act.requests:
        assert SlackActionRequest.model_validate(request.model_dump()) == request
        assert request.channel in CHANNELS.values()
