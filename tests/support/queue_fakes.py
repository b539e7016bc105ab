"""In-memory stand-ins for the SQS, DynamoDB, event source mapping and REPORT-line readers
(`functions.shared.adapters.queues`), with the same method signatures."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from functions.shared.adapters.queues import (
    EventSourceMapping,
    QueueAttributes,
    QueueReaders,
    ReportLine,
    TableDescription,
    TableScaling,
)


@dataclass
class FakeSqs:
    queues: dict[str, QueueAttributes] = field(default_factory=dict)
    error: Exception | None = None

    def queue(self, name: str) -> QueueAttributes | None:
        if self.error is not None:
            raise self.error
        return self.queues.get(name)

    def dead_letter_sources(self, queue: QueueAttributes) -> list[str]:
        return [q.name for q in self.queues.values() if q.dead_letter_queue == queue.name]


@dataclass
class FakeDynamoDb:
    tables: dict[str, TableDescription] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    scalings: dict[str, TableScaling] = field(default_factory=dict)

    def scaling(self, name: str) -> TableScaling | None:
        return self.scalings.get(name)

    def table(self, name: str) -> TableDescription | None:
        self.asked.append(name)
        return self.tables.get(name)


@dataclass
class FakeMappings:
    found: list[EventSourceMapping] = field(default_factory=list)

    def mappings(self, *, source_arn: str | None = None, function_name: str | None = None) -> list[EventSourceMapping]:
        return [
            m
            for m in self.found
            if (source_arn is None or m.source_arn == source_arn)
            and (function_name is None or m.function_name == function_name)
        ]


@dataclass
class FakeReports:
    lines: dict[str, list[ReportLine]] = field(default_factory=dict)

    def reports(self, log_group: str, start: datetime, end: datetime, limit: int = 200) -> list[ReportLine]:
        return [line for line in self.lines.get(log_group, []) if start <= line.at <= end][:limit]


def queue_readers(
    sqs: FakeSqs | None = None,
    dynamodb: FakeDynamoDb | None = None,
    mappings: FakeMappings | None = None,
    reports: FakeReports | None = None,
) -> QueueReaders:
    return QueueReaders(
        sqs=sqs or FakeSqs(),  # type: ignore[arg-type]
        dynamodb=dynamodb or FakeDynamoDb(),  # type: ignore[arg-type]
        mappings=mappings or FakeMappings(),  # type: ignore[arg-type]
        reports=reports or FakeReports(),  # type: ignore[arg-type]
    )


def sqs_arn(name: str) -> str:
    return f"arn:aws:sqs:us-east-1:123456789012:{name}"


def mapping(function: str, source_arn: str, **extra: object) -> EventSourceMapping:
    return EventSourceMapping(
        uuid=f"uuid-{function}",
        source_arn=source_arn,
        function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{function}",
        **extra,  # type: ignore[arg-type]
    )
