"""The conversations table adapter against moto DynamoDB: load, save, optimistic locking, claims, alert context."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from functions.shared.adapters.conversations import ConversationConflictError, ConversationTable
from functions.shared.chat_models import AlertContext, ChatMessage, Conversation
from tests.support.chat_aws import TABLE, chat_account

NOW = datetime(2026, 11, 25, 19, 0, 0, 250000, tzinfo=UTC)


@pytest.fixture
def table(monkeypatch):
    with chat_account(monkeypatch):
        yield ConversationTable(TABLE)


def test_a_saved_conversation_loads_back_with_its_messages(table):
    # Given a conversation with two turns
    conversation = Conversation.start("C0ALERTS01-1732560000.000100", "C0ALERTS01", "1732560000.000100", now=NOW)
    conversation.append(ChatMessage(role="user", content="why did Lambda costs spike?", timestamp=NOW))
    conversation.append(
        ChatMessage(
            role="assistant",
            content="An invocation storm on ImageProcessor.",
            timestamp=NOW + timedelta(seconds=4),
            tools_used=["cost_by_service", "lambda_metrics"],
            agent="CostAnalyst",
            slack_ts="1732560004.000200",
        )
    )

    # When it is saved and loaded
    saved = table.save(conversation)
    loaded = table.latest("C0ALERTS01-1732560000.000100")

    # Then everything round-trips, keyed as designed
    assert loaded == saved
    assert loaded.version == 1
    assert loaded.timestamp == "20261125T190000.250000Z"
    assert loaded.ttl == int((NOW + timedelta(days=7)).timestamp())
    assert loaded.messages[1].tools_used == ["cost_by_service", "lambda_metrics"]
    item = table.client.get_item(
        TableName=TABLE,
        Key={"conversation_id": {"S": loaded.conversation_id}, "timestamp": {"S": loaded.timestamp}},
    )["Item"]
    assert item["kind"] == {"S": "conversation"}
    assert item["ttl"] == {"N": str(loaded.ttl)}
    assert set(item) >= {"created_at", "updated_at", "status", "messages"}


def test_latest_is_the_newest_conversation_of_the_thread(table):
    old = Conversation.start("C1-1.0", now=NOW)
    old.status = "completed"
    table.save(old)
    table.save(Conversation.start("C1-1.0", now=NOW + timedelta(hours=1)))
    assert table.latest("C1-1.0").created_at == NOW + timedelta(hours=1)
    assert table.latest("C1-2.0") is None


def test_a_stale_copy_cannot_overwrite_a_newer_save(table):
    # Given two workers that loaded the same version
    saved = table.save(Conversation.start("C1-1.0", now=NOW))
    first, second = saved.model_copy(deep=True), saved.model_copy(deep=True)
    first.append(ChatMessage(role="user", content="one"))
    table.save(first)

    # When the second saves its stale copy
    second.append(ChatMessage(role="user", content="two"))

    # Then it is refused
    with pytest.raises(ConversationConflictError):
        table.save(second)
    assert [m.content for m in table.latest("C1-1.0").messages] == ["one"]


def test_claims_are_granted_once_and_can_be_released(table):
    assert table.claim("event#Ev1") is True
    assert table.claim("event#Ev1") is False
    table.release("event#Ev1")
    assert table.claim("event#Ev1") is True


def test_alert_context_is_stored_by_dedup_key_and_seeds_the_thread(table):
    # Given the pipeline posted an alert and knows its thread
    context = AlertContext(dedup_key="budget#monthly", title="Budget exceeded", source="budget", root_cause="storm")

    # When it stores the context
    table.put_alert_context(context, channel="C0ALERTS01", thread_ts="1732560000.000100")

    # Then it can be found by dedup key, and the thread's conversation starts with it
    assert table.alert_context("budget#monthly").root_cause == "storm"
    seeded = table.latest("C0ALERTS01-1732560000.000100")
    assert seeded.alert_context.title == "Budget exceeded"
    assert seeded.messages == []
    assert table.alert_context("nope") is None
