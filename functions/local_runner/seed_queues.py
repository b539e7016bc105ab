"""Seed SQS queues (with redrive policy and waiting messages), DynamoDB tables and event source mappings (from a
queue, a table's stream or a Kinesis stream, `seed_streams`).

Called by `functions.local_runner.seed.seed_account` inside the active moto mock, after the Lambda functions exist
(an event source mapping names one). Order matters on moto: queues first (a redrive policy names its dead-letter
queue's ARN), then the waiting messages, then the event source mappings — moto delivers every message sent to a
queue with an enabled mapping straight to the function, so the backlog is sent before the mapping exists.

What the Lambda API cannot set — an event source mapping's `LastProcessingResult` ("PROBLEM: Function call
failed") — is set on moto's own model, here only.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from functions.shared.adapters.aws import aws_client

MAX_SEEDED_MESSAGES = 5000


class _Seed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SqsQueueSeed(_Seed):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,75}(\.fifo)?$")
    visibility_timeout_seconds: int = Field(default=30, ge=0, le=43200)
    retention_seconds: int = Field(default=4 * 24 * 3600, ge=60, le=1209600)
    # The queue's dead-letter queue (another seeded queue) and after how many receives a message moves there.
    dead_letter_queue: str | None = None
    max_receive_count: int = Field(default=5, ge=1, le=1000)
    # Messages waiting in the queue now (ApproximateNumberOfMessages), each with this body.
    visible_messages: int = Field(default=0, ge=0, le=MAX_SEEDED_MESSAGES)
    message_body: str = '{"id": "0001"}'


class TableIndexSeed(_Seed):
    name: str
    partition_key: str = "pk"
    read_units: int = Field(default=5, ge=1)
    write_units: int = Field(default=5, ge=1)


class ScalingSeed(_Seed):
    min: int = Field(ge=1)
    max: int = Field(ge=1)


class DynamoDbTableSeed(_Seed):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{3,255}$")
    partition_key: str = "pk"
    billing_mode: Literal["PROVISIONED", "PAY_PER_REQUEST"] = "PROVISIONED"
    read_units: int | None = Field(default=None, ge=1)  # required when PROVISIONED (default 5)
    write_units: int | None = Field(default=None, ge=1)
    global_secondary_indexes: list[TableIndexSeed] = Field(default_factory=list)
    stream: bool = False  # a NEW_AND_OLD_IMAGES stream (an event source mapping can then read it)
    # Application Auto Scaling ranges for a PROVISIONED table's reads / writes (none: no auto scaling).
    read_auto_scaling: ScalingSeed | None = None
    write_auto_scaling: ScalingSeed | None = None


class EventSourceMappingSeed(_Seed):
    """A Lambda function consuming a seeded queue, a seeded table's stream, or a seeded Kinesis stream."""

    function: str
    queue: str | None = None
    table_stream: str | None = None
    kinesis_stream: str | None = None
    batch_size: int | None = Field(default=None, ge=1, le=10000)
    enabled: bool = True
    maximum_concurrency: int | None = Field(default=None, ge=2, le=1000)
    # Streams only: concurrent batches per shard, and how often a failing batch is retried (-1: until it expires).
    parallelization_factor: int | None = Field(default=None, ge=1, le=10)
    maximum_retry_attempts: int | None = Field(default=None, ge=-1, le=10000)
    last_processing_result: str | None = None  # e.g. "PROBLEM: Function call failed"; moto reports none

    @model_validator(mode="after")
    def _one_source(self) -> EventSourceMappingSeed:
        if sum(source is not None for source in (self.queue, self.table_stream, self.kinesis_stream)) != 1:
            raise ValueError("an event source mapping names exactly one of queue, table_stream, kinesis_stream")
        return self


def seed_queues_and_tables(
    queues: list[SqsQueueSeed],
    tables: list[DynamoDbTableSeed],
    mappings: list[EventSourceMappingSeed],
    *,
    account_id: str,
    region: str,
    kinesis_streams: dict[str, str] | None = None,
) -> None:
    """Create the queues, tables and event source mappings in the active moto account; `kinesis_streams` are the
    ARNs of the seeded Kinesis streams (`seed_streams`) by name.

    Raises:
        botocore.exceptions.ClientError: moto rejected a value (e.g. a mapping to a function that does not exist).
        ValueError: a redrive policy or mapping names a queue, table or stream the scenario does not seed.
    """
    arns = _seed_sqs(queues, region)
    streams = _seed_tables(tables, region)
    client = aws_client("lambda", region)
    for mapping in mappings:
        if mapping.queue is not None:
            if mapping.queue not in arns:
                raise ValueError(f"event source mapping: queue {mapping.queue} is not seeded")
            source = arns[mapping.queue]
        elif mapping.kinesis_stream is not None:
            if mapping.kinesis_stream not in (kinesis_streams or {}):
                raise ValueError(f"event source mapping: Kinesis stream {mapping.kinesis_stream} is not seeded")
            source = (kinesis_streams or {})[mapping.kinesis_stream]
        else:
            stream = streams.get(mapping.table_stream or "")
            if stream is None:
                raise ValueError(f"event source mapping: table {mapping.table_stream} is not seeded with a stream")
            source = stream
        params: dict[str, Any] = {
            "EventSourceArn": source,
            "FunctionName": mapping.function,
            "Enabled": mapping.enabled,
        }
        if mapping.batch_size is not None:
            params["BatchSize"] = mapping.batch_size
        if mapping.maximum_concurrency is not None:
            params["ScalingConfig"] = {"MaximumConcurrency": mapping.maximum_concurrency}
        if mapping.table_stream is not None or mapping.kinesis_stream is not None:
            params["StartingPosition"] = "LATEST"
        if mapping.parallelization_factor is not None:
            params["ParallelizationFactor"] = mapping.parallelization_factor
        if mapping.maximum_retry_attempts is not None:
            params["MaximumRetryAttempts"] = mapping.maximum_retry_attempts
        created = client.create_event_source_mapping(**params)
        if mapping.last_processing_result is not None:
            _set_last_processing_result(str(created["UUID"]), mapping.last_processing_result, account_id, region)


def _seed_sqs(queues: list[SqsQueueSeed], region: str) -> dict[str, str]:
    client = aws_client("sqs", region)
    urls: dict[str, str] = {}
    arns: dict[str, str] = {}
    for queue in queues:
        attributes = {
            "VisibilityTimeout": str(queue.visibility_timeout_seconds),
            "MessageRetentionPeriod": str(queue.retention_seconds),
        }
        if queue.name.endswith(".fifo"):
            attributes["FifoQueue"] = "true"
        url = client.create_queue(QueueName=queue.name, Attributes=attributes)["QueueUrl"]
        urls[queue.name] = url
        arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        arns[queue.name] = arn
    for queue in queues:
        if queue.dead_letter_queue is None:
            continue
        if queue.dead_letter_queue not in arns:
            raise ValueError(f"queue {queue.name}: dead-letter queue {queue.dead_letter_queue} is not seeded")
        policy = {"deadLetterTargetArn": arns[queue.dead_letter_queue], "maxReceiveCount": queue.max_receive_count}
        client.set_queue_attributes(QueueUrl=urls[queue.name], Attributes={"RedrivePolicy": json.dumps(policy)})
    for queue in queues:
        if queue.visible_messages:
            _add_messages(client, urls[queue.name], queue)
    return arns


def _add_messages(client: Any, url: str, queue: SqsQueueSeed) -> None:
    """The queue's waiting messages: the first through the API (a real message), the rest appended to moto's
    queue model directly, since moto's SendMessage re-reads every queue attribute per message (minutes for a few
    thousand messages on a busy machine). FIFO queues go through the API: their deduplication is moto's to do."""
    from moto.sqs.models import Message, sqs_backends

    fifo = queue.name.endswith(".fifo")
    first: dict[str, Any] = {"MessageGroupId": "seed", "MessageDeduplicationId": "seed-0"} if fifo else {}
    client.send_message(QueueUrl=url, MessageBody=queue.message_body, **first)
    if fifo:
        for sequence in range(1, queue.visible_messages):
            client.send_message(
                QueueUrl=url,
                MessageBody=queue.message_body,
                MessageGroupId="seed",
                MessageDeduplicationId=f"seed-{sequence}",
            )
        return
    account, name = url.rstrip("/").split("/")[-2:]
    model = sqs_backends[account][client.meta.region_name].queues[name]
    for sequence in range(1, queue.visible_messages):
        message = Message(f"00000000-0000-4000-8000-{sequence:012d}", queue.message_body)
        message.mark_sent(delay_seconds=0)
        model._messages.append(message)


def _seed_tables(tables: list[DynamoDbTableSeed], region: str) -> dict[str, str]:
    client = aws_client("dynamodb", region)
    streams: dict[str, str] = {}
    for table in tables:
        keys = {table.partition_key} | {index.partition_key for index in table.global_secondary_indexes}
        params: dict[str, Any] = {
            "TableName": table.name,
            "KeySchema": [{"AttributeName": table.partition_key, "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"} for key in sorted(keys)],
            "BillingMode": table.billing_mode,
        }
        provisioned = table.billing_mode == "PROVISIONED"
        if provisioned:
            params["ProvisionedThroughput"] = {
                "ReadCapacityUnits": table.read_units or 5,
                "WriteCapacityUnits": table.write_units or 5,
            }
        if table.global_secondary_indexes:
            params["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": index.name,
                    "KeySchema": [{"AttributeName": index.partition_key, "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                    **(
                        {
                            "ProvisionedThroughput": {
                                "ReadCapacityUnits": index.read_units,
                                "WriteCapacityUnits": index.write_units,
                            }
                        }
                        if provisioned
                        else {}
                    ),
                }
                for index in table.global_secondary_indexes
            ]
        if table.stream:
            params["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        described = client.create_table(**params)["TableDescription"]
        for dimension, scaling in (("Read", table.read_auto_scaling), ("Write", table.write_auto_scaling)):
            if scaling is not None:
                aws_client("application-autoscaling", region).register_scalable_target(
                    ServiceNamespace="dynamodb",
                    ResourceId=f"table/{table.name}",
                    ScalableDimension=f"dynamodb:table:{dimension}CapacityUnits",
                    MinCapacity=scaling.min,
                    MaxCapacity=scaling.max,
                )
        if described.get("LatestStreamArn"):
            streams[table.name] = str(described["LatestStreamArn"])
    return streams


def _set_last_processing_result(uuid: str, result: str, account_id: str, region: str) -> None:
    """moto always reports `LastProcessingResult: null`: give this one mapping a subclass that reports `result`."""
    from moto.awslambda.models import lambda_backends
    from moto.awslambda_simple.models import lambda_simple_backends

    # Which backend holds the mapping depends on moto's Lambda config (docker-less runs use the simple one).
    mapping = next(
        backends[account_id][region]._event_source_mappings[uuid]
        for backends in (lambda_simple_backends, lambda_backends)
        if uuid in backends[account_id][region]._event_source_mappings
    )
    base = type(mapping)

    def configuration(self: Any) -> dict[str, Any]:
        return {**base.get_configuration(self), "LastProcessingResult": result}

    mapping.__class__ = type(f"Seeded{base.__name__}", (base,), {"get_configuration": configuration})
