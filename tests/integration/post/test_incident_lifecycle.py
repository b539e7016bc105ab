"""One Slack message per incident with the bot token (issue 14): the Post stage against moto DynamoDB (the
Conversations table) and a loopback Slack Web API server speaking the real wire format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.format.logic import format_output
from functions.post.logic import post_message
from functions.shared.adapters.conversations import ConversationTable
from functions.shared.adapters.slack_api import SlackApi
from functions.shared.models import FormatOutput, PostInput, Route
from tests.support.chat_aws import TABLE, chat_account
from tests.support.fake_slack_api import FakeSlackApi
from tests.support.slack_safety import slack_safety_violations
from tests.unit.test_format_message import alarm_alert, format_input

TOKEN = "xoxb-test-token"
CHANNEL = "C0ALERTS"
FIRED = datetime(2026, 11, 25, 6, 15, 0, tzinfo=UTC)
ALARM_ARN = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:api-errors"


class NoWebhook:
    def send(self, route: Route, body: dict[str, Any]) -> Any:
        raise AssertionError("the bot-token mode must not use the webhook")


@pytest.fixture
def table(monkeypatch):
    with chat_account(monkeypatch):
        yield ConversationTable(TABLE)


@pytest.fixture
def slack():
    with FakeSlackApi(token=TOKEN) as fake:
        yield fake


def formatted(state: str, at: datetime, **alert: Any) -> FormatOutput:
    details = {"alarm_name": "api-errors", "alarm_arn": ALARM_ARN, "state": state, "metric_name": "Errors"}
    title = f"{state}: api-errors in EU (Ireland)"
    severity = "info" if state == "OK" else "critical"
    fi = format_input(
        alert=alarm_alert(title=title, severity=severity, details=details, occurred_at=at.isoformat(), **alert)
    )
    return format_output(fi, now=at)


def post(output: FormatOutput, table: ConversationTable, slack: FakeSlackApi, at: datetime) -> Any:
    from functions.post import logic

    post_input = PostInput.model_validate(output.model_dump(mode="json"))
    web = SlackApi(TOKEN, slack.api_url)
    return logic.post_incident(post_input, web, CHANNEL, table, now=at)


def test_alarm_duplicate_ok_and_refire_are_one_message_updated_in_place(table, slack) -> None:
    # Given ALARM, the same ALARM again a minute later, OK 20 minutes later and a re-fire 30 minutes after that
    steps = [
        ("ALARM", FIRED),
        ("ALARM", FIRED + timedelta(minutes=1)),
        ("OK", FIRED + timedelta(minutes=21)),
        ("ALARM", FIRED + timedelta(minutes=51)),
    ]

    # When each goes through Format and Post
    results = [post(formatted(state, at), table, slack, at) for state, at in steps]

    # Then there is one top-level message; everything else is in its thread or edits it
    top_level = [c for c in slack.calls if c.method == "chat.postMessage" and not c.args.get("thread_ts")]
    assert len(top_level) == 1
    ts = results[0].ts
    assert all(r.ts == ts for r in results)
    replies = [c for c in slack.calls if c.method == "chat.postMessage" and c.args.get("thread_ts") == ts]
    assert len(replies) == 4  # the evidence, the duplicate, the resolution, the re-fire
    updates = [c for c in slack.calls if c.method == "chat.update"]
    assert [u.args["ts"] for u in updates] == [ts, ts, ts]
    headers = [u.args["blocks"][0]["text"]["text"] for u in updates]
    assert headers[0].startswith("🔁 2x 🔴 CRITICAL")
    assert headers[1].startswith("✅ Resolved 06:36 UTC after 21 min: ")
    assert headers[2].startswith("🔁 3x 🔴 CRITICAL") and "Resolved" not in headers[2]
    assert "2nd alert: fired again at 06:16 UTC" in replies[1].args["text"]
    assert "same evidence" in replies[1].args["text"]
    assert replies[2].args["text"].startswith("✅ Resolved 06:36 UTC: api-errors")
    assert "fired again after it resolved" in replies[3].args["text"]
    for call in [*replies, *updates]:
        body = {"text": call.args.get("text", ""), "blocks": call.args.get("blocks") or []}
        assert slack_safety_violations(body, posted=False) == []


def test_alarms_on_the_same_resource_within_minutes_share_one_thread(table, slack) -> None:
    # Given two different alarms on the Lambda function api, five minutes apart
    first = formatted("ALARM", FIRED)
    second_fi = format_input(
        alert=alarm_alert(
            title="ALARM: api-duration",
            details={"alarm_name": "api-duration", "state": "ALARM", "metric_name": "Duration"},
            occurred_at=(FIRED + timedelta(minutes=5)).isoformat(),
        )
    )
    second = format_output(second_fi, now=FIRED + timedelta(minutes=5))
    assert first.incident and second.incident and first.incident.key != second.incident.key

    # When both are posted
    a = post(first, table, slack, FIRED)
    b = post(second, table, slack, FIRED + timedelta(minutes=5))

    # Then the second is a reply in the first one's thread
    top_level = [c for c in slack.calls if c.method == "chat.postMessage" and not c.args.get("thread_ts")]
    assert len(top_level) == 1
    assert b.ts == a.ts


def test_an_ok_with_nothing_open_posts_only_the_compact_line(table, slack) -> None:
    at = FIRED + timedelta(hours=1)
    result = post(formatted("OK", at), table, slack, at)
    (call,) = slack.calls
    assert call.method == "chat.postMessage"
    assert call.args["text"] == "✅ Resolved 07:15 UTC: api-errors in EU (Ireland)"
    assert result.thread_ts is None


def test_post_message_routes_to_the_incident_flow_with_a_store(table, slack) -> None:
    post_input = PostInput.model_validate(formatted("ALARM", FIRED).model_dump(mode="json"))
    web = SlackApi(TOKEN, slack.api_url)
    post_message(post_input, NoWebhook(), web=web, channel=CHANNEL, incidents=table)
    post_message(post_input, NoWebhook(), web=web, channel=CHANNEL, incidents=table)
    top_level = [c for c in slack.calls if c.method == "chat.postMessage" and not c.args.get("thread_ts")]
    assert len(top_level) == 1
    assert table.incident(f"alarm#{ALARM_ARN}") is not None


class FlakyReads:
    """The real table, whose reads fail `failures` times (a throttled or unreachable DynamoDB) and then work."""

    def __init__(self, table: ConversationTable, failures: int) -> None:
        self._table = table
        self.failures = failures

    def incident(self, key: str) -> dict[str, Any] | None:
        if self.failures > 0:
            self.failures -= 1
            from functions.shared.adapters.conversations import ConversationStoreError

            raise ConversationStoreError("get_item: ProvisionedThroughputExceededException")
        return self._table.incident(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


def test_an_unreadable_incident_memory_still_posts_the_analysed_message(table, slack) -> None:
    from functions.post import logic

    # Given the incident memory cannot be read when the first alarm is posted
    store = FlakyReads(table, failures=1)
    output = formatted("ALARM", FIRED)
    post_input = PostInput.model_validate(output.model_dump(mode="json"))
    web = SlackApi(TOKEN, slack.api_url)

    # When Post runs
    result = logic.post_incident(post_input, web, CHANNEL, store, now=FIRED)  # type: ignore[arg-type]

    # Then the analysed message is posted as a new one, saying the memory was not read, with its thread
    top_level = [c for c in slack.calls if c.method == "chat.postMessage" and not c.args.get("thread_ts")]
    assert len(top_level) == 1 and result.posted and result.ts
    blocks = top_level[0].args["blocks"]
    assert blocks[0] == output.message.blocks[0]  # the analysed header, not the raw alert
    assert blocks[-1]["elements"][0]["text"] == logic.INCIDENT_MEMORY_UNREAD_NOTE
    assert [c.args.get("thread_ts") for c in slack.calls if c.method == "chat.postMessage"][1:] == [result.ts]

    # And, the table itself being fine, the record was written: the next alarm joins that thread
    again = post(formatted("ALARM", FIRED + timedelta(minutes=2)), table, slack, FIRED + timedelta(minutes=2))
    assert again.ts == result.ts
    top_level = [c for c in slack.calls if c.method == "chat.postMessage" and not c.args.get("thread_ts")]
    assert len(top_level) == 1


def test_an_unreadable_incident_memory_with_a_resolution_posts_the_compact_line(table, slack) -> None:
    from functions.post import logic

    store = FlakyReads(table, failures=1)
    output = formatted("OK", FIRED)
    post_input = PostInput.model_validate(output.model_dump(mode="json"))

    result = logic.post_incident(post_input, SlackApi(TOKEN, slack.api_url), CHANNEL, store, now=FIRED)  # type: ignore[arg-type]

    posts = [c for c in slack.calls if c.method == "chat.postMessage"]
    assert len(posts) == 1 and not posts[0].args.get("thread_ts") and result.posted
    assert posts[0].args["blocks"][-1]["elements"][0]["text"] == logic.INCIDENT_MEMORY_UNREAD_NOTE
    assert output.incident is not None
    assert table.incident(output.incident.key) is None  # a resolution opens no incident
