"""Which stream records are archived, why, and where."""

from __future__ import annotations

from datetime import UTC, datetime

from functions.chat.archiver import archive_batch, archive_key
from functions.shared.adapters.conversations import conversation_to_item, to_item
from functions.shared.chat_models import ChatMessage, Conversation

START = datetime(2026, 11, 18, 9, 30, 15, 123456, tzinfo=UTC)


class Writer:
    def __init__(self) -> None:
        self.written: dict[str, dict] = {}

    def put_json(self, key, document):
        self.written[key] = document


def conversation(status="active") -> Conversation:
    c = Conversation.start("C0ALERTS01-1732560000.000100", "C0ALERTS01", "1732560000.000100", now=START)
    c.append(ChatMessage(role="user", content="why?", timestamp=START))
    c.status = status
    return c


def record(event_name, old=None, new=None, ttl=False):
    change = {}
    if old is not None:
        change["OldImage"] = old
    if new is not None:
        change["NewImage"] = new
    rec = {"eventName": event_name, "dynamodb": change, "eventSource": "aws:dynamodb"}
    if ttl:
        rec["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return rec


def archive_records(records, writer):
    """The batch as the stream delivers it (each record with its sequence number), through the archiver."""
    for number, rec in enumerate(records, start=1):
        rec["dynamodb"].setdefault("SequenceNumber", str(number * 100))
    return archive_batch({"Records": records}, writer)


def test_key_is_partitioned_by_the_conversations_start_date():
    key = archive_key("C0ALERTS01-1732560000.000100", "20261118T093015.123456Z")
    assert key == ("conversations/year=2026/month=11/day=18/C0ALERTS01-1732560000.000100-20261118T093015.123456Z.json")


def test_ttl_expiry_archives_the_old_image_as_expired():
    writer = Writer()
    response, archived = archive_records([record("REMOVE", old=conversation_to_item(conversation()), ttl=True)], writer)
    assert response == {"batchItemFailures": []}
    [key] = archived
    assert writer.written[key]["archived_reason"] == "expired"
    assert writer.written[key]["conversation"]["messages"][0]["content"] == "why?"


def test_a_manual_delete_is_archived_too():
    writer = Writer()
    archive_records([record("REMOVE", old=conversation_to_item(conversation()))], writer)
    assert [d["archived_reason"] for d in writer.written.values()] == ["deleted"]


def test_completion_is_archived_once():
    writer = Writer()
    active, completed = conversation_to_item(conversation()), conversation_to_item(conversation("completed"))
    _, archived = archive_records(
        [
            record("MODIFY", old=active, new=active),
            record("MODIFY", old=active, new=completed),
            record("MODIFY", old=completed, new=completed),
        ],
        writer,
    )
    assert len(archived) == 1
    assert [d["archived_reason"] for d in writer.written.values()] == ["completed"]


def test_claims_and_alert_contexts_are_never_archived():
    claim = to_item({"conversation_id": "event#Ev1", "timestamp": "claim", "kind": "event_claim", "ttl": 1})
    writer = Writer()
    _, archived = archive_records([record("REMOVE", old=claim, ttl=True), record("INSERT", new=claim)], writer)
    assert archived == [] and writer.written == {}


def test_a_failed_write_is_a_partial_batch_failure_from_that_record():
    # Given a writer that fails on the second conversation
    from functions.shared.adapters.conversations import ArchiveWriteError

    class Flaky(Writer):
        def put_json(self, key, document):
            if self.written:
                raise ArchiveWriteError("S3 put_object failed: SlowDown")
            super().put_json(key, document)

    first = record("REMOVE", old=conversation_to_item(conversation()), ttl=True)
    first["dynamodb"]["SequenceNumber"] = "100"
    later = Conversation.start("C0ALERTS01-1732569999.000100", now=START)
    second = record("REMOVE", old=conversation_to_item(later), ttl=True)
    second["dynamodb"]["SequenceNumber"] = "200"
    third = record("REMOVE", old=conversation_to_item(conversation()), ttl=True)
    third["dynamodb"]["SequenceNumber"] = "300"

    # When the batch is archived
    response, archived = archive_records([first, second, third], Flaky())

    # Then Lambda is told which records failed: it retries from the lowest sequence number, the second record
    assert response == {"batchItemFailures": [{"itemIdentifier": "200"}, {"itemIdentifier": "300"}]}
    assert len(archived) == 1


def test_a_batch_where_every_write_fails_is_retried_whole():
    import pytest
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    from functions.shared.adapters.conversations import ArchiveWriteError

    class Down(Writer):
        def put_json(self, key, document):
            raise ArchiveWriteError("S3 unavailable")

    with pytest.raises(BatchProcessingError):
        archive_records([record("REMOVE", old=conversation_to_item(conversation()), ttl=True)], Down())
