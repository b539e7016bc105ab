"""Races on one incident record (decision 0020), against moto DynamoDB and the loopback Slack Web API: Post and a
button click each write only their own fields (UpdateItem), so one landing between the other's read and write is
kept; two re-fires at once count 2 and 3; a new incident is claimed by one execution at a time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.chat.actions import ActionDeps, act_on_click
from functions.post.logic import post_incident
from functions.shared.adapters.conversations import ConversationTable
from functions.shared.adapters.incident_actions import IncidentActionsTable
from functions.shared.adapters.slack_api import SlackApi
from functions.shared.incidents import CLAIM_STALE_AFTER
from functions.shared.models import PostInput
from functions.shared.slack_actions import SlackActionRequest
from tests.integration.post.test_incident_lifecycle import ALARM_ARN, CHANNEL, FIRED, TOKEN, formatted
from tests.support.chat_aws import TABLE, chat_account
from tests.support.fake_slack_api import FakeSlackApi

KEY = f"alarm#{ALARM_ARN}"
ONCALL = "U0ONCALL1"


class InterruptedTable(ConversationTable):
    """The table, with `meanwhile` run once right after the incident record is first read: another writer landing
    between this reader's read and its write."""

    def __init__(self, meanwhile: Callable[[], None]) -> None:
        super().__init__(TABLE)
        self.meanwhile: Callable[[], None] | None = meanwhile

    def incident(self, key: str) -> dict[str, Any] | None:
        record = super().incident(key)
        if key == KEY and self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            meanwhile()
        return record


@pytest.fixture
def slack():
    with FakeSlackApi(token=TOKEN) as fake:
        yield fake


@pytest.fixture
def table(monkeypatch):
    with chat_account(monkeypatch):
        yield ConversationTable(TABLE)


def post_alarm(store: ConversationTable, slack: FakeSlackApi, at: datetime) -> Any:
    post_input = PostInput.model_validate(formatted("ALARM", at).model_dump(mode="json"))
    return post_incident(post_input, SlackApi(TOKEN, slack.api_url), CHANNEL, store, now=at)


def click(kind: str, ts: str, slack: FakeSlackApi, incidents: IncidentActionsTable, now: datetime) -> Any:
    request = SlackActionRequest.model_validate(
        {"kind": kind, "value": KEY, "user": ONCALL, "channel": CHANNEL, "message_ts": ts}
    )
    deps = ActionDeps(incidents, SlackApi(TOKEN, slack.api_url), alert_channels={"critical": CHANNEL})
    return act_on_click(request, deps, now=now)


def footer(blocks: list[dict[str, Any]]) -> list[str]:
    return [e["text"] for e in [b for b in blocks if b["type"] == "context"][-1]["elements"]]


def test_a_click_landing_between_posts_read_and_write_survives(table, slack) -> None:
    # Given an open incident's message
    ts = post_alarm(table, slack, FIRED).ts

    # When a re-fire's Post reads the record, and Acknowledge is clicked before Post writes it
    def acknowledge() -> None:
        assert click("acknowledge", ts, slack, IncidentActionsTable(TABLE), FIRED + timedelta(minutes=2)).outcome == (
            "acknowledged"
        )

    post_alarm(InterruptedTable(acknowledge), slack, FIRED + timedelta(minutes=3))

    # Then the record holds both: the click's acknowledgement and Post's count
    record = table.incident(KEY)
    assert record is not None
    assert (
        record["acknowledged_by"] == ONCALL and record["acknowledged_at"] == (FIRED + timedelta(minutes=2)).isoformat()
    )
    assert record["fire_count"] == 2 and record["status"] == "open"
    # And Post's header edit, drawn from the record as stored, still shows who acknowledged it
    edit = [c for c in slack.calls if c.method == "chat.update"][-1]
    assert edit.args["blocks"][0]["text"]["text"].startswith("🔁 2x ")
    assert footer(edit.args["blocks"])[0] == f"👀 Acknowledged by <@{ONCALL}> at 06:17 UTC"


def test_a_post_landing_between_a_clicks_read_and_write_survives(table, slack) -> None:
    # Given an open incident's message
    ts = post_alarm(table, slack, FIRED).ts

    # When Mute 1 h reads the record, and a re-fire is posted before the click writes it
    class InterruptedActions(IncidentActionsTable):
        def __init__(self) -> None:
            super().__init__(TABLE)
            self._table = InterruptedTable(lambda: post_alarm(table, slack, FIRED + timedelta(minutes=3)))

    assert click("mute", ts, slack, InterruptedActions(), FIRED + timedelta(minutes=4)).outcome == "muted"

    # Then the record holds Post's count and header and the click's mute
    record = table.incident(KEY)
    assert record is not None
    assert record["fire_count"] == 2 and record["muted_by"] == ONCALL
    assert record["blocks"][0]["text"]["text"].startswith("🔁 2x ")
    # And the click's edit keeps Post's header
    edit = [c for c in slack.calls if c.method == "chat.update"][-1]
    assert edit.args["blocks"][0]["text"]["text"].startswith("🔁 2x ")
    assert footer(edit.args["blocks"])[0] == f"🔕 Muted until 07:19 UTC by <@{ONCALL}>"


def test_two_refires_at_once_count_two_and_three(table, slack) -> None:
    # Given an open incident's message
    post_alarm(table, slack, FIRED)

    # When one re-fire's Post reads the record and another re-fire is posted entirely before it writes
    post_alarm(
        InterruptedTable(lambda: post_alarm(table, slack, FIRED + timedelta(minutes=2))),
        slack,
        FIRED + timedelta(minutes=3),
    )

    # Then the count is three: the later write re-read the record instead of writing 2 over 2
    record = table.incident(KEY)
    assert record is not None and record["fire_count"] == 3
    assert (
        [c for c in slack.calls if c.method == "chat.update"][-1].args["blocks"][0]["text"]["text"].startswith("🔁 3x ")
    )


def test_a_click_on_a_message_that_is_no_longer_the_incidents_does_nothing(table, slack) -> None:
    ts = post_alarm(table, slack, FIRED).ts

    # When the incident's record is replaced by another message's between the click's read and its write
    def replace() -> None:
        record = table.incident(KEY)
        assert record is not None
        table.put_incident(KEY, {**record, "ts": "1764050499.000001"}, replacing_ts=ts)

    class InterruptedActions(IncidentActionsTable):
        def __init__(self) -> None:
            super().__init__(TABLE)
            self._table = InterruptedTable(replace)

    # Then the click is ignored and writes nothing
    assert click("acknowledge", ts, slack, InterruptedActions(), FIRED + timedelta(minutes=4)).outcome == "ignored"
    record = table.incident(KEY)
    assert record is not None and "acknowledged_by" not in record


def test_a_second_new_message_of_the_incident_keeps_the_first_ones_record(table, slack) -> None:
    # Given two alerts of a new incident both past their wait (decision 0020): the second Post reads no record, and
    # the first one posts, is remembered and acknowledged before the second one writes
    first_ts: list[str] = []

    def first_post_and_click() -> None:
        first_ts.append(post_alarm(table, slack, FIRED).ts)
        click("acknowledge", first_ts[0], slack, IncidentActionsTable(TABLE), FIRED + timedelta(minutes=1))

    post_alarm(InterruptedTable(first_post_and_click), slack, FIRED + timedelta(seconds=30))

    # Then both messages were posted (every alert becomes a message), and the record is still the first one's,
    # acknowledged: the second one's conditional write did not replace it
    top_level = [c for c in slack.calls if c.method == "chat.postMessage" and not c.args.get("thread_ts")]
    assert len(top_level) == 2
    record = table.incident(KEY)
    assert record is not None and record["ts"] == first_ts[0] and record["acknowledged_by"] == ONCALL


def test_a_new_record_never_overwrites_one_written_meanwhile(table) -> None:
    table.put_incident(KEY, {"ts": "1.1", "status": "open"}, replacing_ts="")
    with pytest.raises(Exception, match="another record"):
        table.put_incident(KEY, {"ts": "2.2", "status": "open"}, replacing_ts="")
    table.put_incident(KEY, {"ts": "3.3", "status": "open"}, replacing_ts="1.1")  # the expired one read just before
    assert (table.incident(KEY) or {})["ts"] == "3.3"


def test_one_execution_at_a_time_claims_a_new_incident(table) -> None:
    now = datetime(2026, 11, 25, 6, 15, 0, tzinfo=UTC)

    # Given a claim by the first execution
    first = table.claim_incident(KEY, "critical-first", now, CLAIM_STALE_AFTER)
    assert first.won and first.holder == "critical-first"

    # Then a second execution seconds later loses it and learns who holds it since when
    second = table.claim_incident(KEY, "critical-second", now + timedelta(seconds=3), CLAIM_STALE_AFTER)
    assert (second.won, second.holder, second.claimed_at) == (False, "critical-first", now)
    # And the holder claiming again (a retried invocation) still holds it
    assert table.claim_incident(KEY, "critical-first", now + timedelta(seconds=4), CLAIM_STALE_AFTER).won
    # And once the claim is stale (its execution died), the next one takes the incident over
    later = now + timedelta(seconds=4) + CLAIM_STALE_AFTER + timedelta(seconds=1)
    third = table.claim_incident(KEY, "critical-third", later, CLAIM_STALE_AFTER)
    assert third.won and third.holder == "critical-third"
    assert not table.claim_incident(KEY, "critical-first", later, CLAIM_STALE_AFTER).won
    # And claims are not incident records
    assert table.incident(KEY) is None
