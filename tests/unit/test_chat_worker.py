"""The chat worker: conversations continue in a thread, close on "done", start from an alert's context."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from functions.chat.graph import SupervisorDeps
from functions.chat.store import ConversationStore, InMemoryConversationStore
from functions.chat.tools import ToolBox
from functions.chat.worker import WorkerDeps, answer_chat_request, dedup_key_in_message
from functions.shared.chat_models import AlertContext, ChatRequest, Conversation
from tests.support.chat_fakes import FakeSlackPoster, FakeTools

NOW = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)


def request(text: str, ts: str = "1732560000.000100", thread_ts: str | None = None, event: str = "Ev1"):
    return ChatRequest(
        event_id=event,
        channel="C0ALERTS01",
        thread_ts=thread_ts or ts,
        message_ts=ts,
        user="U061F7AUR",
        text=text,
        in_thread=thread_ts is not None and thread_ts != ts,
    )


def latest(store: ConversationStore, conversation_id: str) -> Conversation:
    conversation = store.latest(conversation_id)
    assert conversation is not None, f"no conversation {conversation_id}"
    return conversation


def posts(d: WorkerDeps) -> list[dict[str, Any]]:
    assert isinstance(d.slack, FakeSlackPoster)
    return d.slack.posts


def memory(d: WorkerDeps) -> InMemoryConversationStore:
    assert isinstance(d.store, InMemoryConversationStore)
    return d.store


def deps(store=None, slack=None, thread_parent=None) -> WorkerDeps:
    return WorkerDeps(
        store=store or InMemoryConversationStore(),
        slack=slack or FakeSlackPoster(),
        supervisor=SupervisorDeps(toolbox=FakeTools().toolbox()),
        thread_parent=thread_parent,
    )


def test_first_question_is_answered_in_its_thread_and_saved():
    # Given an empty store
    d = deps()

    # When a question arrives
    result = answer_chat_request(request("why did Lambda costs spike?"), d, now=NOW)

    # Then the answer is posted in the thread and both turns are stored with TTL seven days out
    [post] = posts(d)
    assert post["thread_ts"] == "1732560000.000100"
    assert post["channel"] == "C0ALERTS01"
    assert result.agent == "CostAnalyst"
    stored = latest(d.store, "C0ALERTS01-1732560000.000100")
    assert [m.role for m in stored.messages] == ["user", "assistant"]
    assert stored.messages[1].tools_used == ["cost_by_service", "budgets_status", "cost_forecast"]
    assert stored.messages[1].agent == "CostAnalyst"
    assert stored.messages[1].slack_ts == post["ts"]
    assert stored.ttl == int((NOW + timedelta(days=7)).timestamp())
    assert stored.status == "active"


def test_follow_ups_continue_the_conversation():
    d = deps()
    answer_chat_request(request("why did Lambda costs spike?"), d, now=NOW)
    follow_up = request("and the logs?", ts="1732560100.000200", thread_ts="1732560000.000100", event="Ev2")
    answer_chat_request(follow_up, d, now=NOW + timedelta(minutes=2))
    stored = latest(d.store, "C0ALERTS01-1732560000.000100")
    assert [m.content for m in stored.messages if m.role == "user"] == ["why did Lambda costs spike?", "and the logs?"]
    assert stored.version == 2
    assert len(memory(d).conversations["C0ALERTS01-1732560000.000100"]) == 1


def test_done_completes_the_conversation_and_a_later_question_starts_a_new_one():
    # Given a conversation that was closed with "done"
    d = deps()
    answer_chat_request(request("why did Lambda costs spike?"), d, now=NOW)
    closing = request("done", ts="1732560100.000200", thread_ts="1732560000.000100", event="Ev2")
    result = answer_chat_request(closing, d, now=NOW + timedelta(minutes=1))
    assert result.status == "completed"

    # When someone asks again in the same thread
    again = request("one more thing: the forecast?", ts="1732560200.000300", thread_ts="1732560000.000100")
    answer_chat_request(again, d, now=NOW + timedelta(minutes=5))

    # Then a new conversation item starts under the same conversation id
    items = memory(d).conversations["C0ALERTS01-1732560000.000100"]
    assert sorted(c.status for c in items.values()) == ["active", "completed"]
    assert latest(d.store, "C0ALERTS01-1732560000.000100").messages[0].content == "one more thing: the forecast?"


def test_a_question_under_an_alert_starts_from_the_alerts_context():
    # Given the alert pipeline stored the alert's context, and the alert message carries its dedup key
    store = InMemoryConversationStore()
    store.alert_contexts["budget#monthly#2026-11"] = AlertContext(
        dedup_key="budget#monthly#2026-11",
        title="Budget monthly-total exceeded",
        source="budget",
        root_cause="Lambda ImageProcessor invocation storm",
    )
    alert_message = {
        "text": "Budget exceeded",
        "blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "dedup `budget#monthly#2026-11`"}]}],
    }
    d = deps(store=store, thread_parent=lambda channel, ts: alert_message)

    # When a question without keywords is asked in the alert's thread
    q = request("what should I check first?", ts="1732561200.000300", thread_ts="1732560000.000100")
    result = answer_chat_request(q, d, now=NOW)

    # Then the conversation carries the alert context and the budget alert routed to the cost analyst
    stored = latest(store, "C0ALERTS01-1732560000.000100")
    assert stored.alert_context is not None
    assert stored.alert_context.root_cause == "Lambda ImageProcessor invocation storm"
    assert result.agent == "CostAnalyst"


def test_a_conversation_seeded_by_the_pipeline_is_continued():
    # Given the pipeline seeded the thread's conversation with the alert context
    store = InMemoryConversationStore()
    context = AlertContext(dedup_key="k1", title="ImageProcessor errors", source="cloudwatch_alarm")
    store.save(Conversation.start("C0ALERTS01-1732560000.000100", "C0ALERTS01", "1732560000.000100", context, NOW))

    # When a question is asked in that thread
    q = request("hello", ts="1732561200.000300", thread_ts="1732560000.000100")
    answer_chat_request(q, deps(store=store), now=NOW)

    # Then the same item gains the turns and keeps the context
    stored = latest(store, "C0ALERTS01-1732560000.000100")
    assert stored.alert_context is not None
    assert stored.alert_context.title == "ImageProcessor errors"
    assert len(stored.messages) == 2
    assert stored.version == 2


def test_dedup_key_is_found_in_a_block_id_or_the_escaped_footer():
    assert dedup_key_in_message({"blocks": [{"type": "header", "block_id": "alert-intel-dedup:abc"}]}) == "abc"
    footer = {"blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": "dedup `a&amp;b`"}]}]}
    assert dedup_key_in_message(footer) == "a&b"
    assert dedup_key_in_message({"text": "no key here"}) is None


def test_an_unexpected_failure_is_answered_with_an_apology_not_silence():
    # Given a toolbox whose plan breaks the supervisor itself
    class Broken:
        def get(self, name):
            raise RuntimeError("bug")

        def subset(self, names):
            raise RuntimeError("bug")

    d = deps()
    d.supervisor = SupervisorDeps(toolbox=cast(ToolBox, Broken()))

    # When a question arrives
    result = answer_chat_request(request("why did Lambda costs spike?"), d, now=NOW)

    # Then the thread still gets an answer, and the turn is recorded
    assert "something went wrong" in posts(d)[0]["text"]
    assert result.method == "canned"
    assert len(latest(d.store, "C0ALERTS01-1732560000.000100").messages) == 2
