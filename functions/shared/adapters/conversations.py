"""The Conversations table: conversations, alert context records, event dedup claims, and the incident records and
claims of the alert pipeline (decisions 0014, 0020).

The item layout is documented in `functions.shared.chat_models`. Partition key `conversation_id` and sort key
`timestamp` are both strings; `ttl` is the table's TTL attribute (epoch seconds).
"""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.shared.dynamodb_deserializer import TypeDeserializer
from botocore.exceptions import ClientError

from functions.shared.adapters.aws import aws_client, is_throttling
from functions.shared.chat_models import AlertContext, Conversation, conversation_id_for
from functions.shared.errors import AlertIntelError
from functions.shared.incidents import IncidentClaim

KIND_CONVERSATION = "conversation"
KIND_ALERT_CONTEXT = "alert_context"
KIND_EVENT_CLAIM = "event_claim"
ALERT_CONTEXT_SORT_KEY = "context"
KIND_INCIDENT = "incident"
INCIDENT_KEY_PREFIX = "incident#"
INCIDENT_SORT_KEY = "incident"
# "Check Incident" claims a new incident before investigating it (decision 0020), under its own partition-key
# prefix: its role may write claims only, never an incident record.
KIND_INCIDENT_CLAIM = "incident_claim"
INCIDENT_CLAIM_PREFIX = "incident-claim#"
INCIDENT_CLAIM_TTL_SECONDS = 86_400
CLAIM_SORT_KEY = "claim"
# Slack retries for about an hour at most, so a claim older than that is never needed again.
CLAIM_TTL_SECONDS = 3_600

# Powertools' copy of boto3's deserializer: `boto3.dynamodb.types` would import all of boto3 (and s3transfer) into
# cold starts that otherwise need only botocore (`functions.shared.adapters.aws`).
_deserializer = TypeDeserializer()


class ConversationStoreError(AlertIntelError):
    """The conversations table could not be read or written (throttled, missing, or no permission)."""


class ConversationConflictError(ConversationStoreError):
    """Someone else saved the conversation since it was loaded (optimistic locking on `version`)."""


class IncidentRecordConflictError(ConversationStoreError):
    """The incident record is not the one the write expected: another message of the incident was remembered
    meanwhile, or the record expired before an update."""


def attribute_value(value: Any) -> dict[str, Any]:
    """One JSON-like value (what `model_dump(mode="json")` gives) as a DynamoDB attribute value.

    Raises:
        TypeError: a value DynamoDB cannot hold as is (a set, bytes, an object), as boto3's serializer would.
    """
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        if not number.is_finite():
            raise TypeError(f"DynamoDB holds no {value!r}")
        return {"N": str(number)}
    if isinstance(value, dict):
        return {"M": {str(k): attribute_value(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [attribute_value(v) for v in value]}
    raise TypeError(f"DynamoDB holds no {type(value).__name__} as an attribute value here")


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: attribute_value(v) for k, v in values.items() if v is not None}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_plain(v) for v in value]
    return value


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item (wire format, as in streams too) as plain Python values."""
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def conversation_to_item(conversation: Conversation) -> dict[str, Any]:
    values = conversation.model_dump(mode="json", exclude_none=True)
    values["kind"] = KIND_CONVERSATION
    return to_item(values)


class ConversationTable:
    """Reads and writes the chat bot's table through one DynamoDB client (botocore, decision 0016)."""

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.table_name = table_name
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or aws_client("dynamodb")

    def latest(self, conversation_id: str) -> Conversation | None:
        """The most recent conversation in a thread, whatever its status, or None.

        Raises:
            ConversationStoreError: the query failed.
        """
        try:
            answer = self.client.query(
                TableName=self.table_name,
                KeyConditionExpression="conversation_id = :id",
                ExpressionAttributeValues={":id": {"S": conversation_id}},
                ScanIndexForward=False,
                Limit=1,
                ConsistentRead=True,
            )
        except ClientError as exc:
            raise self._error("query", exc) from exc
        items = answer.get("Items", [])
        return Conversation.model_validate(from_item(items[0])) if items else None

    def save(self, conversation: Conversation) -> Conversation:
        """Write the conversation if nobody saved it since it was loaded; returns it with `version` bumped.

        Raises:
            ConversationConflictError: the stored version is not the one this copy was loaded at.
            ConversationStoreError: the write failed otherwise.
        """
        saved = conversation.model_copy(update={"version": conversation.version + 1})
        if conversation.version == 0:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(conversation_id)"}
        else:
            condition = {
                "ConditionExpression": "version = :loaded",
                "ExpressionAttributeValues": {":loaded": {"N": str(conversation.version)}},
            }
        try:
            self.client.put_item(TableName=self.table_name, Item=conversation_to_item(saved), **condition)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise ConversationConflictError(
                    f"conversation {conversation.conversation_id} changed since version {conversation.version}"
                ) from exc
            raise self._error("put_item", exc) from exc
        return saved

    def claim(self, key: str, ttl_seconds: int = CLAIM_TTL_SECONDS) -> bool:
        """Record `key` (an event id or message id) as seen; False when it was already claimed.

        Raises:
            ConversationStoreError: the write failed for another reason than an existing claim.
        """
        item = {
            "conversation_id": key,
            "timestamp": CLAIM_SORT_KEY,
            "kind": KIND_EVENT_CLAIM,
            "ttl": int(time.time()) + ttl_seconds,
        }
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(conversation_id)",
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise self._error("put_item", exc) from exc
        return True

    def release(self, key: str) -> None:
        """Forget a claim, so a retry of an event we failed to hand over is processed.

        Raises:
            ConversationStoreError: the delete failed.
        """
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key={"conversation_id": {"S": key}, "timestamp": {"S": CLAIM_SORT_KEY}},
            )
        except ClientError as exc:
            raise self._error("delete_item", exc) from exc

    def put_alert_context(
        self, context: AlertContext, channel: str | None = None, thread_ts: str | None = None
    ) -> None:
        """Store what the pipeline knew about a posted alert.

        Always keyed by the alert's dedup key; when the Slack channel and message ts of the posted alert are
        known, a conversation for that thread is also started with the context, so the first question asked in
        the thread begins with it.

        Raises:
            ConversationStoreError: a write failed.
        """
        ttl = int(time.time()) + 7 * 86_400
        values = {
            "conversation_id": f"alert#{context.dedup_key}",
            "timestamp": ALERT_CONTEXT_SORT_KEY,
            "kind": KIND_ALERT_CONTEXT,
            "ttl": ttl,
            "alert_context": context.model_dump(mode="json", exclude_none=True),
        }
        try:
            self.client.put_item(TableName=self.table_name, Item=to_item(values))
        except ClientError as exc:
            raise self._error("put_item", exc) from exc
        if channel and thread_ts:
            conversation_id = conversation_id_for(channel, thread_ts)
            if self.latest(conversation_id) is None:
                conversation = Conversation.start(conversation_id, channel, thread_ts, alert_context=context)
                # A question that got there first already looked the context up by dedup key.
                with contextlib.suppress(ConversationConflictError):
                    self.save(conversation)

    def alert_context(self, dedup_key: str) -> AlertContext | None:
        """The alert context stored for `dedup_key`, or None.

        Raises:
            ConversationStoreError: the read failed.
        """
        try:
            answer = self.client.get_item(
                TableName=self.table_name,
                Key={"conversation_id": {"S": f"alert#{dedup_key}"}, "timestamp": {"S": ALERT_CONTEXT_SORT_KEY}},
            )
        except ClientError as exc:
            raise self._error("get_item", exc) from exc
        item = answer.get("Item")
        if not item:
            return None
        return AlertContext.model_validate(from_item(item).get("alert_context", {}))

    def incident(self, key: str) -> dict[str, Any] | None:
        """The record of the incident `key` (`functions.post.logic`: channel, ts, counts, status), or None.

        Raises:
            ConversationStoreError: the read failed.
        """
        try:
            answer = self.client.get_item(
                TableName=self.table_name,
                Key={"conversation_id": {"S": f"{INCIDENT_KEY_PREFIX}{key}"}, "timestamp": {"S": INCIDENT_SORT_KEY}},
            )
        except ClientError as exc:
            raise self._error("get_item", exc) from exc
        item = answer.get("Item")
        return dict(from_item(item).get("record") or {}) if item else None

    def put_incident(self, key: str, record: dict[str, Any], *, replacing_ts: str | None = None) -> None:
        """Remember the incident `key` for 7 days (its message's channel and ts, how often it fired, its status).

        With `replacing_ts` the write is conditional: only when there is no record yet, or the stored one is still
        the message `replacing_ts` (an incident out of its window, read just before). So two new messages of one
        incident never overwrite each other's record, nor a click on the first.

        Raises:
            IncidentRecordConflictError: (`replacing_ts` given) another record was written meanwhile.
            ConversationStoreError: the write failed.
        """
        values = {
            "conversation_id": f"{INCIDENT_KEY_PREFIX}{key}",
            "timestamp": INCIDENT_SORT_KEY,
            "kind": KIND_INCIDENT,
            "ttl": int(time.time()) + 7 * 86_400,
            "record": record,
        }
        condition: dict[str, Any] = {}
        if replacing_ts is not None:
            condition = {
                "ConditionExpression": "attribute_not_exists(#record) OR #record.#ts = :replacing",
                "ExpressionAttributeNames": {"#record": "record", "#ts": "ts"},
                "ExpressionAttributeValues": {":replacing": {"S": replacing_ts}},
            }
        try:
            self.client.put_item(TableName=self.table_name, Item=to_item(values), **condition)
        except ClientError as exc:
            if _condition_failed(exc):
                raise IncidentRecordConflictError(f"incident {key}: another record was written meanwhile") from exc
            raise self._error("put_item", exc) from exc

    def update_incident(
        self,
        key: str,
        fields: dict[str, Any],
        *,
        remove: tuple[str, ...] = (),
        expect: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Set `fields` (and remove `remove`) inside the stored incident record, leaving every other field as it is
        (UpdateItem, never a rewrite): Post's counts and a click's acknowledgement cannot erase each other.
        Conditional on the record existing, so an expired record is never recreated half, and on each `expect`
        field holding its value (None: absent), e.g. still the same message `ts`, still the count read. Returns the
        whole record as stored after the update.

        Raises:
            IncidentRecordConflictError: the record is gone or belongs to another message now.
            ConversationStoreError: the write failed.
        """
        names = {"#record": "record", "#ttl": "ttl"}
        # Kept 7 days after its last write, as a rewrite kept it.
        values: dict[str, Any] = {":ttl": {"N": str(int(time.time()) + 7 * 86_400)}}
        assignments = ["#ttl = :ttl"]
        for index, (name, value) in enumerate(sorted(fields.items())):
            names[f"#f{index}"] = name
            values[f":v{index}"] = attribute_value(value)
            assignments.append(f"#record.#f{index} = :v{index}")
        removals = []
        for index, name in enumerate(sorted(set(remove) - set(fields))):
            names[f"#r{index}"] = name
            removals.append(f"#record.#r{index}")
        expression = "SET " + ", ".join(assignments) + (" REMOVE " + ", ".join(removals) if removals else "")
        condition = "attribute_exists(#record)"
        for index, (name, value) in enumerate(sorted((expect or {}).items())):
            names[f"#e{index}"] = name
            if value is None:
                condition += f" AND attribute_not_exists(#record.#e{index})"
            else:
                values[f":e{index}"] = attribute_value(value)
                condition += f" AND #record.#e{index} = :e{index}"
        try:
            answer = self.client.update_item(
                TableName=self.table_name,
                Key={"conversation_id": {"S": f"{INCIDENT_KEY_PREFIX}{key}"}, "timestamp": {"S": INCIDENT_SORT_KEY}},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if _condition_failed(exc):
                raise IncidentRecordConflictError(f"incident {key}: no such record (expired or replaced)") from exc
            raise self._error("update_item", exc) from exc
        return dict(from_item(answer.get("Attributes") or {}).get("record") or {})

    def claim_incident(self, key: str, execution_name: str, now: datetime, stale_after: timedelta) -> IncidentClaim:
        """Claim the new incident `key` for the execution `execution_name` (one conditional PutItem): won when
        nobody holds it, when this execution already does (a retried invocation), or when the holder's claim is
        older than `stale_after` (that execution died); otherwise the holder's claim, to wait for.

        Raises:
            ConversationStoreError: the write failed for another reason than a live claim.
        """
        moment = now.astimezone(UTC)
        item = {
            "conversation_id": f"{INCIDENT_CLAIM_PREFIX}{key}",
            "timestamp": CLAIM_SORT_KEY,
            "kind": KIND_INCIDENT_CLAIM,
            "claimed_by": execution_name,
            "claimed_at": moment.isoformat(),
            "claimed_epoch": int(moment.timestamp()),
            "ttl": int(moment.timestamp()) + INCIDENT_CLAIM_TTL_SECONDS,
        }
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=to_item(item),
                ConditionExpression=(
                    "attribute_not_exists(conversation_id) OR claimed_by = :me OR claimed_epoch < :stale_before"
                ),
                ExpressionAttributeValues={
                    ":me": {"S": execution_name},
                    ":stale_before": {"N": str(int((moment - stale_after).timestamp()))},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if not _condition_failed(exc):
                raise self._error("put_item", exc) from exc
            held = from_item(exc.response.get("Item") or {})
            return IncidentClaim(
                won=False,
                holder=str(held.get("claimed_by") or "another execution"),
                claimed_at=_claim_time(held.get("claimed_epoch"), moment),
            )
        return IncidentClaim(won=True, holder=execution_name, claimed_at=moment)

    def _error(self, operation: str, exc: ClientError) -> ConversationStoreError:
        code = exc.response.get("Error", {}).get("Code", "unknown")
        kind = "throttled" if is_throttling(exc) else "failed"
        return ConversationStoreError(f"DynamoDB {operation} on {self.table_name} {kind}: {code}")


def _condition_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _claim_time(epoch: Any, default: datetime) -> datetime:
    return datetime.fromtimestamp(epoch, UTC) if isinstance(epoch, int | float) else default


@lru_cache(maxsize=4)
def conversation_table(table_name: str) -> ConversationTable:
    return ConversationTable(table_name)


class ArchiveWriteError(ConversationStoreError):
    """A conversation could not be written to the archive bucket; the stream batch is retried."""


class ConversationArchive:
    """Writes archived conversations to S3 as JSON documents."""

    def __init__(self, bucket: str, client: Any | None = None) -> None:
        self.bucket = bucket
        self._client = client

    def put_json(self, key: str, document: dict[str, Any]) -> None:
        """Raises ArchiveWriteError when S3 refuses the write."""
        client = self._client or aws_client("s3")
        try:
            client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8"),
                ContentType="application/json",
                ServerSideEncryption="AES256",
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "unknown")
            raise ArchiveWriteError(f"S3 put_object s3://{self.bucket}/{key} failed: {code}") from exc
