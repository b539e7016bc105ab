"""SQS, DynamoDB, event source mapping and Lambda REPORT-line reads, each answer a small typed model.

What an SRE reads first about a queue (its depth, visibility timeout, retention, redrive policy), about a table (its
capacity mode and provisioned units, its indexes) and about what connects a queue or a stream to its consumer (the
event source mapping: state, batch size, last processing result, maximum concurrency).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from functions.shared.adapters.aws import aws_client
from functions.shared.adapters.aws_reads import aws_read, aws_read_or_none, int_or_none
from functions.shared.cache import cache_key, cached

_NOT_FOUND = frozenset({"ResourceNotFoundException", "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})
_SQS_ARN = re.compile(r"^arn:aws[a-z-]*:sqs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):(?P<name>[A-Za-z0-9_.-]{1,80})$")
_TABLE_ARN = re.compile(r"^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table/(?P<name>[A-Za-z0-9_.-]{3,255})(?:/|$)")


def queue_name_of_arn(arn: str) -> str | None:
    match = _SQS_ARN.match(arn)
    return match.group("name") if match else None


def table_name_of_arn(arn: str) -> str | None:
    """The table of a table ARN or of one of its stream ARNs (`table/<name>/stream/<label>`)."""
    match = _TABLE_ARN.match(arn)
    return match.group("name") if match else None


class QueueAttributes(BaseModel):
    """One queue as `GetQueueAttributes` (All) describes it."""

    name: str
    url: str
    arn: str | None = None
    visible: int | None = None  # ApproximateNumberOfMessages
    in_flight: int | None = None  # ApproximateNumberOfMessagesNotVisible: received, not yet deleted
    delayed: int | None = None
    visibility_timeout_seconds: int | None = None
    retention_seconds: int | None = None
    fifo: bool = False
    dead_letter_queue_arn: str | None = None  # from the RedrivePolicy
    max_receive_count: int | None = None

    @property
    def dead_letter_queue(self) -> str | None:
        return queue_name_of_arn(self.dead_letter_queue_arn) if self.dead_letter_queue_arn else None


class EventSourceMapping(BaseModel):
    """One event source mapping (`ListEventSourceMappings`): what feeds a Lambda function from a queue or stream."""

    uuid: str
    source_arn: str
    function_arn: str
    state: str | None = None  # Enabled, Disabled, Creating, ...
    batch_size: int | None = None
    batching_window_seconds: int | None = None
    maximum_concurrency: int | None = None  # ScalingConfig.MaximumConcurrency (SQS only)
    # Streams only (Kinesis, DynamoDB): concurrent batches per shard (1-10), and what happens to a failing batch.
    parallelization_factor: int | None = None
    maximum_retry_attempts: int | None = None  # -1: retried until the record expires
    bisect_batch_on_error: bool | None = None
    last_processing_result: str | None = None  # "OK", "PROBLEM: Function call failed", "No records processed"

    @property
    def function_name(self) -> str:
        return self.function_arn.split(":function:", 1)[-1].split(":", 1)[0]


class IndexCapacity(BaseModel):
    name: str
    read_units: int | None = None
    write_units: int | None = None


class TableDescription(BaseModel):
    """One table as `DescribeTable` describes it."""

    name: str
    status: str | None = None
    billing_mode: str = "PROVISIONED"  # PAY_PER_REQUEST is on-demand
    read_units: int | None = None  # provisioned RCU (None on demand)
    write_units: int | None = None
    item_count: int | None = None
    size_bytes: int | None = None
    stream_arn: str | None = None
    indexes: list[IndexCapacity] = Field(default_factory=list)  # global secondary indexes

    @property
    def on_demand(self) -> bool:
        return self.billing_mode == "PAY_PER_REQUEST"


class SqsReader:
    def __init__(self, client: Any = None, region: str | None = None) -> None:
        self._client = client or aws_client("sqs", region)
        self._region = region

    def queue(self, name: str) -> QueueAttributes | None:
        """The queue's attributes; None when no queue has this name.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("sqs:GetQueueUrl", "sqs:GetQueueAttributes"),
            AwsReadUnavailableError.
        """
        return cached(cache_key("sqs.queue", self._region, name), lambda: self._queue(name))

    def _queue(self, name: str) -> QueueAttributes | None:
        located = aws_read_or_none("sqs:GetQueueUrl", self._client.get_queue_url, not_found=_NOT_FOUND, QueueName=name)
        if located is None:
            return None
        url = str(located["QueueUrl"])
        # The queue can be deleted between the two calls: that reads as "no such queue" too.
        described = aws_read_or_none(
            "sqs:GetQueueAttributes",
            self._client.get_queue_attributes,
            not_found=_NOT_FOUND,
            QueueUrl=url,
            AttributeNames=["All"],
        )
        if described is None:
            return None
        attributes = described.get("Attributes", {})
        redrive: dict[str, Any] = {}
        try:
            redrive = json.loads(attributes.get("RedrivePolicy") or "{}")
        except ValueError:  # a policy that is not JSON names no dead-letter queue
            redrive = {}
        return QueueAttributes(
            name=name,
            url=url,
            arn=attributes.get("QueueArn"),
            visible=int_or_none(attributes.get("ApproximateNumberOfMessages")),
            in_flight=int_or_none(attributes.get("ApproximateNumberOfMessagesNotVisible")),
            delayed=int_or_none(attributes.get("ApproximateNumberOfMessagesDelayed")),
            visibility_timeout_seconds=int_or_none(attributes.get("VisibilityTimeout")),
            retention_seconds=int_or_none(attributes.get("MessageRetentionPeriod")),
            fifo=str(attributes.get("FifoQueue", "false")).lower() == "true",
            dead_letter_queue_arn=str(redrive["deadLetterTargetArn"]) if redrive.get("deadLetterTargetArn") else None,
            max_receive_count=int_or_none(redrive.get("maxReceiveCount")),
        )

    def dead_letter_sources(self, queue: QueueAttributes) -> list[str]:
        """The queues whose redrive policy sends failed messages to `queue` (at most 10 names).

        Raises:
            GatherThrottledError, AwsReadDeniedError ("sqs:ListDeadLetterSourceQueues"), AwsReadUnavailableError.
        """
        key = cache_key("sqs.list_dead_letter_source_queues", self._region, queue.url)
        return cached(key, lambda: self._dead_letter_sources(queue.url))

    def _dead_letter_sources(self, url: str) -> list[str]:
        response = aws_read(
            "sqs:ListDeadLetterSourceQueues", self._client.list_dead_letter_source_queues, QueueUrl=url, MaxResults=10
        )
        return [str(u).rstrip("/").rsplit("/", 1)[-1] for u in response.get("queueUrls", [])[:10]]


class EventSourceMappingReader:
    def __init__(self, client: Any = None, region: str | None = None) -> None:
        self._client = client or aws_client("lambda", region)
        self._region = region

    def mappings(self, *, source_arn: str | None = None, function_name: str | None = None) -> list[EventSourceMapping]:
        """The event source mappings of a queue / stream, or of a function (at most 20).

        Raises:
            GatherThrottledError, AwsReadDeniedError ("lambda:ListEventSourceMappings"), AwsReadUnavailableError.
        """
        key = cache_key("lambda.list_event_source_mappings", self._region, source_arn, function_name)
        return cached(key, lambda: self._mappings(source_arn, function_name))

    def _mappings(self, source_arn: str | None, function_name: str | None) -> list[EventSourceMapping]:
        params: dict[str, Any] = {"MaxItems": 20}
        if source_arn:
            params["EventSourceArn"] = source_arn
        if function_name:
            params["FunctionName"] = function_name
        response = aws_read("lambda:ListEventSourceMappings", self._client.list_event_source_mappings, **params)
        found = []
        for mapping in response.get("EventSourceMappings", [])[:20]:
            if not mapping.get("EventSourceArn") or not mapping.get("FunctionArn"):
                continue  # a self-managed Kafka source: nothing this investigation follows
            found.append(
                EventSourceMapping(
                    uuid=str(mapping.get("UUID", "")),
                    source_arn=str(mapping["EventSourceArn"]),
                    function_arn=str(mapping["FunctionArn"]),
                    state=mapping.get("State"),
                    batch_size=int_or_none(mapping.get("BatchSize")),
                    batching_window_seconds=int_or_none(mapping.get("MaximumBatchingWindowInSeconds")),
                    maximum_concurrency=int_or_none((mapping.get("ScalingConfig") or {}).get("MaximumConcurrency")),
                    last_processing_result=mapping.get("LastProcessingResult"),
                    parallelization_factor=int_or_none(mapping.get("ParallelizationFactor")),
                    maximum_retry_attempts=int_or_none(mapping.get("MaximumRetryAttempts")),
                    bisect_batch_on_error=mapping.get("BisectBatchOnFunctionError"),
                )
            )
        return found


class TableScaling(BaseModel):
    """A table's auto scaling range (Application Auto Scaling scalable targets), per side."""

    read_min: int | None = None
    read_max: int | None = None
    write_min: int | None = None
    write_max: int | None = None


class DynamoDbReader:
    def __init__(self, client: Any = None, region: str | None = None, autoscaling: Any = None) -> None:
        self._client = client or aws_client("dynamodb", region)
        self._autoscaling = autoscaling or aws_client("application-autoscaling", region)
        self._region = region

    def scaling(self, name: str) -> TableScaling | None:
        """The table's auto scaling range; None when auto scaling manages neither side.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("application-autoscaling:DescribeScalableTargets"),
            AwsReadUnavailableError.
        """
        return cached(cache_key("autoscaling.dynamodb", self._region, name), lambda: self._scaling(name))

    def _scaling(self, name: str) -> TableScaling | None:
        response = aws_read(
            "application-autoscaling:DescribeScalableTargets",
            self._autoscaling.describe_scalable_targets,
            ServiceNamespace="dynamodb",
            ResourceIds=[f"table/{name}"],
        )
        scaling = TableScaling()
        for target in response.get("ScalableTargets", []):
            dimension = str(target.get("ScalableDimension", ""))
            low, high = int_or_none(target.get("MinCapacity")), int_or_none(target.get("MaxCapacity"))
            if dimension == "dynamodb:table:ReadCapacityUnits":
                scaling.read_min, scaling.read_max = low, high
            elif dimension == "dynamodb:table:WriteCapacityUnits":
                scaling.write_min, scaling.write_max = low, high
        return scaling if scaling.read_max is not None or scaling.write_max is not None else None

    def table(self, name: str) -> TableDescription | None:
        """The table's capacity mode, provisioned units and indexes; None when no table has this name.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("dynamodb:DescribeTable"), AwsReadUnavailableError.
        """
        return cached(cache_key("dynamodb.describe_table", self._region, name), lambda: self._table(name))

    def _table(self, name: str) -> TableDescription | None:
        described = aws_read_or_none(
            "dynamodb:DescribeTable", self._client.describe_table, not_found=_NOT_FOUND, TableName=name
        )
        if described is None:
            return None
        table = described.get("Table", {})
        throughput = table.get("ProvisionedThroughput") or {}
        mode = (table.get("BillingModeSummary") or {}).get("BillingMode") or "PROVISIONED"
        on_demand = mode == "PAY_PER_REQUEST"
        indexes = []
        for index in table.get("GlobalSecondaryIndexes", [])[:5]:
            units = {} if on_demand else (index.get("ProvisionedThroughput") or {})
            indexes.append(
                IndexCapacity(
                    name=str(index.get("IndexName", "?")),
                    read_units=int_or_none(units.get("ReadCapacityUnits")),
                    write_units=int_or_none(units.get("WriteCapacityUnits")),
                )
            )
        return TableDescription(
            name=str(table.get("TableName", name)),
            status=table.get("TableStatus"),
            billing_mode=str(mode),
            read_units=None if on_demand else int_or_none(throughput.get("ReadCapacityUnits")),
            write_units=None if on_demand else int_or_none(throughput.get("WriteCapacityUnits")),
            item_count=int_or_none(table.get("ItemCount")),
            size_bytes=int_or_none(table.get("TableSizeBytes")),
            stream_arn=table.get("LatestStreamArn"),
            indexes=indexes,
        )


class ReportLine(BaseModel):
    """One Lambda `REPORT RequestId: ...` line, the platform's summary of one invocation."""

    at: datetime
    duration_ms: float | None = None
    memory_size_mb: int | None = None
    max_memory_used_mb: int | None = None
    status: str | None = None  # "error", "timeout" (newer runtimes write it on failed invocations)
    error_type: str | None = None  # "Runtime.OutOfMemory", "Runtime.ExitError", ...
    message: str


_REPORT_FIELD = re.compile(
    r"(?P<field>Duration|Memory Size|Max Memory Used|Status|Error Type):\s*(?P<value>[A-Za-z0-9_.]+)"
)


def parse_report_line(message: str, at: datetime) -> ReportLine | None:
    """The fields of a REPORT line (tab or space separated), None for any other line."""
    text = message.strip()
    if not text.startswith("REPORT "):
        return None
    fields: dict[str, str] = {}
    for match in _REPORT_FIELD.finditer(text):
        # "Billed Duration" also ends in "Duration:": the first Duration is the real one.
        fields.setdefault(match.group("field"), match.group("value"))

    def number(name: str) -> float | None:
        try:
            return float(fields[name])
        except (KeyError, ValueError):
            return None

    size, used = number("Memory Size"), number("Max Memory Used")
    return ReportLine(
        at=at,
        duration_ms=number("Duration"),
        memory_size_mb=int(size) if size is not None else None,
        max_memory_used_mb=int(used) if used is not None else None,
        status=fields.get("Status"),
        error_type=fields.get("Error Type"),
        message=text[:300],
    )


class LambdaReportReader:
    """A function's REPORT lines from its log group (FilterLogEvents), newest last."""

    FILTER = '"Max Memory Used"'

    def __init__(self, client: Any = None, region: str | None = None) -> None:
        self._client = client or aws_client("logs", region)
        self._region = region

    def reports(self, log_group: str, start: datetime, end: datetime, limit: int = 200) -> list[ReportLine]:
        """Up to `limit` REPORT lines of `log_group` between `start` and `end`; [] when the group does not exist.

        Raises:
            GatherThrottledError, AwsReadDeniedError ("logs:FilterLogEvents"), AwsReadUnavailableError.
        """
        response = aws_read_or_none(
            "logs:FilterLogEvents",
            self._client.filter_log_events,
            not_found=_NOT_FOUND,
            logGroupName=log_group,
            startTime=int(start.timestamp() * 1000),
            endTime=int(end.timestamp() * 1000),
            filterPattern=self.FILTER,
            limit=limit,
        )
        lines = []
        for event in (response or {}).get("events", [])[:limit]:
            at = datetime.fromtimestamp(int(event.get("timestamp", 0)) / 1000, tz=UTC)
            line = parse_report_line(str(event.get("message", "")), at)
            if line is not None:
                lines.append(line)
        return sorted(lines, key=lambda line: line.at)


class QueueReaders:
    """The reads behind the SQS, DynamoDB and Lambda-connection investigations, one client per service."""

    def __init__(
        self,
        sqs: SqsReader,
        dynamodb: DynamoDbReader,
        mappings: EventSourceMappingReader,
        reports: LambdaReportReader,
    ) -> None:
        self.sqs = sqs
        self.dynamodb = dynamodb
        self.mappings = mappings
        self.reports = reports

    @classmethod
    def default(cls, region: str | None = None) -> QueueReaders:
        return cls(
            sqs=SqsReader(region=region),
            dynamodb=DynamoDbReader(region=region),
            mappings=EventSourceMappingReader(region=region),
            reports=LambdaReportReader(region=region),
        )
