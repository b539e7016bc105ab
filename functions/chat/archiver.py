"""Archiving conversations from the table's stream to S3: when they expire, are deleted, or complete.

Stream view NEW_AND_OLD_IMAGES. Archived:
* REMOVE of a conversation item: by TTL (`userIdentity.principalId` is `dynamodb.amazonaws.com`) → "expired",
  any other delete → "deleted". Nothing leaves the table without a copy in S3.
* INSERT or MODIFY that makes a conversation's status `completed` → "completed".
A conversation archived on completion and later expiring is written again to the same key (idempotent).
Alert context records, incident records and claims are never archived.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from functions.shared.adapters.conversations import KIND_CONVERSATION, from_item
from functions.shared.chat_models import Conversation, parse_sort_key, utc_now

TTL_PRINCIPAL = "dynamodb.amazonaws.com"
ArchiveReason = Literal["expired", "deleted", "completed"]


class ArchiveWriter(Protocol):
    def put_json(self, key: str, document: dict[str, Any]) -> None: ...


def archive_key(conversation_id: str, sort_key: str) -> str:
    """`conversations/year=YYYY/month=MM/day=DD/<conversation_id>-<timestamp>.json`, dated by the conversation's
    start (its sort key)."""
    started = parse_sort_key(sort_key)
    return f"conversations/year={started:%Y}/month={started:%m}/day={started:%d}/{conversation_id}-{sort_key}.json"


def archive_reason(record: dict[str, Any]) -> tuple[dict[str, Any], ArchiveReason] | None:
    """The conversation image to archive from one stream record, and why; None when the record is not archived."""
    change = record.get("dynamodb") or {}
    old = from_item(change.get("OldImage") or {})
    new = from_item(change.get("NewImage") or {})
    event_name = record.get("eventName")
    if event_name == "REMOVE":
        if old.get("kind") != KIND_CONVERSATION:
            return None
        identity = record.get("userIdentity") or {}
        by_ttl = identity.get("principalId") == TTL_PRINCIPAL
        return old, "expired" if by_ttl else "deleted"
    if event_name in {"INSERT", "MODIFY"}:
        if new.get("kind") != KIND_CONVERSATION:
            return None
        if new.get("status") == "completed" and old.get("status") != "completed":
            return new, "completed"
    return None


def archive_document(image: dict[str, Any], reason: ArchiveReason, now: datetime) -> dict[str, Any]:
    conversation = Conversation.model_validate(image)
    return {
        "archived_reason": reason,
        "archived_at": now.isoformat(),
        "conversation": conversation.model_dump(mode="json"),
    }


def archive_record(record: dict[str, Any], writer: ArchiveWriter, now: datetime | None = None) -> str | None:
    """Archive one stream record's conversation when it is archivable; its S3 key, or None when it is not.

    Raises:
        ArchiveWriteError: the write failed (the batch reports this record as failed; writes are idempotent by key,
            so the retry may rewrite some).
    """
    decision = archive_reason(record)
    if decision is None:
        return None
    image, reason = decision
    key = archive_key(str(image["conversation_id"]), str(image["timestamp"]))
    writer.put_json(key, archive_document(image, reason, now or utc_now()))
    return key


def archive_batch(
    event: dict[str, Any], writer: ArchiveWriter, now: datetime | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Archive a stream batch with Powertools' BatchProcessor: the partial-batch response Lambda expects
    (`batchItemFailures` by sequence number: Lambda retries from the lowest) and the keys written.

    Raises:
        BatchProcessingError: every record failed (Lambda retries the whole batch).
    """
    if not event.get("Records"):
        return {"batchItemFailures": []}, []
    archived: list[str] = []

    def handle(record: DynamoDBRecord) -> str | None:
        key = archive_record(record.raw_event, writer, now)
        if key is not None:
            archived.append(key)
        return key

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    response = process_partial_response(event=event, record_handler=handle, processor=processor)
    return dict(response), archived
