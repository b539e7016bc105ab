"""Post remembers each posted alert for the chat bot, and never fails the run over it."""

from __future__ import annotations

from typing import Any

from functions.post.logic import post_message
from functions.shared.adapters.slack_webhook import WebhookDelivery
from functions.shared.chat_models import AlertContext
from functions.shared.models import PostInput, SlackMessage


class RecordingSender:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def send(self, route: str, body: dict[str, Any]) -> WebhookDelivery:
        self.bodies.append(body)
        return WebhookDelivery(status_code=200, attempts=1, body="ok")


class RecordingMemory:
    def __init__(self, fail: bool = False) -> None:
        self.stored: list[AlertContext] = []
        self.fail = fail

    def put_alert_context(self, context: AlertContext) -> None:
        if self.fail:
            raise RuntimeError("DynamoDB put_item failed: ProvisionedThroughputExceededException")
        self.stored.append(context)


def _post_input(**overrides: Any) -> PostInput:
    values: dict[str, Any] = {
        "route": "critical",
        "dedup_key": "alarm-ImageProcessor-1",
        "message": SlackMessage(text="ALARM", blocks=[]),
        "alert_context": {"dedup_key": "alarm-ImageProcessor-1", "title": "ALARM: ImageProcessor errors"},
    }
    values.update(overrides)
    return PostInput.model_validate(values)


def test_a_posted_alert_is_remembered_for_chat() -> None:
    memory = RecordingMemory()

    result = post_message(_post_input(), RecordingSender(), memory)

    assert result.posted and result.remembered_for_chat
    assert [c.dedup_key for c in memory.stored] == ["alarm-ImageProcessor-1"]


def test_a_failed_memory_write_does_not_fail_the_post() -> None:
    sender = RecordingSender()

    result = post_message(_post_input(), sender, RecordingMemory(fail=True))

    assert result.posted is True
    assert result.remembered_for_chat is False
    assert len(sender.bodies) == 1


def test_without_a_table_or_a_context_nothing_is_remembered() -> None:
    memory = RecordingMemory()

    assert post_message(_post_input(), RecordingSender(), None).remembered_for_chat is False
    assert post_message(_post_input(alert_context=None), RecordingSender(), memory).remembered_for_chat is False
    assert memory.stored == []
