"""Archiving conversations from the table's stream to S3: when they expire, are deleted, or complete.

Stream view NEW_AND_OLD_IMAGES. Archived:
* REMOVE of a conversation item: by TTL (`userIdentity.principalId` is `dynamodb.amazonaws.com`) → "expired",
  any other delete → "deleted". Nothing leaves the table without a copy in S3.
* INSERT or MODIFY that makes a conversation's status `completed` → "completed".
A conversation archived on completion and later expiring is written again to the same key (idempotent).
Alert context records and event claims are never archived.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from functions.shared.adapters.conversations import KIND_CONVERSATION, ArchiveWriteError, from_item
from functions.shared.chat_models import Conversation, parse_sort_key, utc_now

TTL_PRINCIPAL = "dynamodb.amazonaws.com"
ArchiveReason = Literal["expired", "deleted", "completed"]


class ArchiveWriter(Protocol):
    def put_json(self, key: str, document: dict[str, Any]) -> None: ...


class ArchiveReport(BaseModel):
    archived: list[str] = Field(default_factory=list)
    skipped: int = 0
    # The stream sequence number of the first record that could not be archived: Lambda retries from there.
    failed_sequence_number: str | None = None
    failure: str | None = None

    def batch_response(self) -> dict[str, Any]:
        """The partial-batch response of a stream event source with ReportBatchItemFailures."""
        if self.failed_sequence_number is None:
            return {"batchItemFailures": []}
        return {"batchItemFailures": [{"itemIdentifier": self.failed_sequence_number}]}


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


def archive_records(
    records: Iterable[dict[str, Any]], writer: ArchiveWriter, now: datetime | None = None
) -> ArchiveReport:
    """Write every archivable conversation in a stream batch, in order.

    A failed write stops the batch and is reported as `failed_sequence_number` (stream records must be retried
    in order; writes are idempotent by key, so the retry may rewrite some). Without a sequence number to report,
    the error is raised and the whole batch is retried.

    Raises:
        ArchiveWriteError: a write failed for a record without a stream sequence number.
    """
    report = ArchiveReport()
    for record in records:
        decision = archive_reason(record)
        if decision is None:
            report.skipped += 1
            continue
        image, reason = decision
        key = archive_key(str(image["conversation_id"]), str(image["timestamp"]))
        try:
            writer.put_json(key, archive_document(image, reason, now or utc_now()))
        except ArchiveWriteError as exc:
            sequence_number = (record.get("dynamodb") or {}).get("SequenceNumber")
            if not sequence_number:
                raise
            report.failed_sequence_number = str(sequence_number)
            report.failure = str(exc)
            break
        report.archived.append(key)
    return report
