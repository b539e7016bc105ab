"""What a Lambda function is connected to, and whether it runs out of memory.

Neighbours: the sources of its event source mappings (an SQS queue, a DynamoDB table's stream, a Kinesis stream),
and the queues, tables and RDS databases its environment variables name. A value is only followed when it is
unambiguous (a queue URL or ARN, a table ARN, an RDS endpoint) or, for a plain name under a key that says it is a
table, once DescribeTable confirms the table exists: a guess never becomes a neighbour. Values are never quoted in
a fact (they can hold secrets): only the resource they name and the variable's key.

Out of memory: the platform's REPORT lines carry `Memory Size` and `Max Memory Used` (and, on failed invocations,
`Status: error  Error Type: Runtime.OutOfMemory`). Max memory used at or above 98 % of the memory size, or that
error type, is an out-of-memory kill: a structured fact the rules and the model both read.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from pydantic import BaseModel

from functions.shared import console_links
from functions.shared.adapters.compute import LambdaReader
from functions.shared.adapters.queues import (
    DynamoDbReader,
    EventSourceMappingReader,
    LambdaReportReader,
    QueueReaders,
    ReportLine,
    queue_name_of_arn,
    table_name_of_arn,
)
from functions.shared.adapters.streams import stream_name_of_arn
from functions.shared.investigate.base import Evidence, Neighbour, number
from functions.shared.investigate.target import Target, TargetKind
from functions.shared.models import Fact, Measurement

MAX_LAMBDA_NEIGHBOURS = 4
MAX_TABLE_LOOKUPS = 3
_QUEUE_URL = re.compile(
    r"^https://(?:sqs\.[a-z0-9-]+\.amazonaws\.com|[a-z0-9-]+\.queue\.amazonaws\.com)/\d{12}/(?P<name>[A-Za-z0-9_.-]{1,80})/?$"
)
# <instance>.<12-character hash>.<region>.rds.amazonaws.com, or <cluster>.cluster-[ro-]<hash>.<region>...
_RDS_ENDPOINT = re.compile(
    r"\b(?P<id>[a-z][a-z0-9-]{0,62})\.(?P<cluster>cluster-(?:ro-)?)?[a-z0-9]{12}\.[a-z]{2}(?:-[a-z]+)+-\d\.rds\.amazonaws\.com\b",
    re.IGNORECASE,
)
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_TABLE_KEY = re.compile(r"TABLE|DYNAMO|DDB", re.IGNORECASE)

OUT_OF_MEMORY_SHARE = 0.98
MEMORY_PRESSURE_SHARE = 0.9
REPORT_LOOKBACK = timedelta(hours=1)


def _environment(configuration: dict[str, Any]) -> dict[str, str]:
    variables = (configuration.get("Environment") or {}).get("Variables") or {}
    return {str(k): str(v) for k, v in variables.items()} if isinstance(variables, dict) else {}


def lambda_neighbours_evidence(
    function_name: str,
    configuration: dict[str, Any],
    mappings: EventSourceMappingReader,
    dynamodb: DynamoDbReader,
    *,
    region: str | None,
) -> Evidence:
    """The function's event sources and the resources its environment names, as neighbours (at most
    MAX_LAMBDA_NEIGHBOURS), and one fact listing its event sources."""
    evidence = Evidence()
    found: list[Neighbour] = []

    def add(target: Target, edge: str) -> None:
        if len(found) < MAX_LAMBDA_NEIGHBOURS and target.key not in {n.target.key for n in found}:
            found.append(Neighbour(target=target, edge=edge))

    evidence.looked_at.append(f"Lambda {function_name} event sources and the resources its environment names")
    sources = evidence.read(
        f"event source mappings of {function_name}", lambda: mappings.mappings(function_name=function_name)
    )
    described = []
    for mapping in sources or []:
        queue = queue_name_of_arn(mapping.source_arn)
        table = table_name_of_arn(mapping.source_arn)
        batch = f", batch size {mapping.batch_size}" if mapping.batch_size is not None else ""
        state = mapping.state or "state unknown"
        if queue:
            described.append(f"SQS queue {queue} ({state}{batch})")
            add(Target.of("sqs", queue, region), f"event source of Lambda {function_name} (SQS queue {queue}{batch})")
        elif table:
            described.append(f"DynamoDB table {table}'s stream ({state}{batch})")
            add(Target.of("dynamodb", table, region), f"event source of Lambda {function_name} (stream of {table})")
        elif stream := stream_name_of_arn(mapping.source_arn):
            described.append(f"Kinesis stream {stream} ({state}{batch})")
            add(
                Target.of("kinesis_stream", stream, region),
                f"event source of Lambda {function_name} (Kinesis stream {stream}{batch})",
            )
    if described:
        evidence.facts.append(
            Fact(
                key="compute.lambda_sources",
                text=f"{function_name} consumes " + "; ".join(described[:3]),
                value=len(described),
                link=console_links.lambda_function_url(function_name, region),
                subject=function_name,
            )
        )
    table_candidates: list[tuple[str, str]] = []
    for key, value in sorted(_environment(configuration).items()):
        value = value.strip()
        if (match := _QUEUE_URL.match(value)) or (value.startswith("arn:") and queue_name_of_arn(value)):
            queue = match.group("name") if match else queue_name_of_arn(value)
            if queue:
                add(Target.of("sqs", queue, region), f"SQS queue named in Lambda {function_name}'s environment ({key})")
        elif value.startswith("arn:") and (table := table_name_of_arn(value)):
            add(Target.of("dynamodb", table, region), f"DynamoDB table named in {function_name}'s environment ({key})")
        elif rds := _RDS_ENDPOINT.search(value):
            kind: TargetKind = "rds_cluster" if rds.group("cluster") else "rds_instance"
            label = "Aurora cluster" if rds.group("cluster") else "RDS instance"
            add(
                Target.of(kind, rds.group("id").lower(), region),
                f"{label} {rds.group('id').lower()} whose endpoint {function_name}'s environment names ({key})",
            )
        elif _TABLE_KEY.search(key) and _TABLE_NAME.match(value):
            table_candidates.append((key, value))
    for key, candidate in table_candidates[:MAX_TABLE_LOOKUPS]:
        table_description = evidence.read(f"DynamoDB table {candidate}", partial(dynamodb.table, candidate))
        if table_description is not None:
            add(
                Target.of("dynamodb", table_description.name, region),
                f"DynamoDB table {table_description.name} named in Lambda {function_name}'s environment ({key})",
            )
    evidence.neighbours.extend(found)
    return evidence


class MemoryVerdict(BaseModel):
    invocations: int  # REPORT lines read
    out_of_memory: int  # of them: killed for memory (error type, or max used at the memory size)
    memory_size_mb: int
    max_used_mb: int

    @property
    def share(self) -> float:
        return self.max_used_mb / self.memory_size_mb if self.memory_size_mb else 0.0


def memory_verdict(reports: list[ReportLine], configured_mb: int | None) -> MemoryVerdict | None:
    """How close the invocations came to the memory size; None without REPORT lines that carry memory numbers."""
    measured = [r for r in reports if r.max_memory_used_mb is not None]
    if not measured:
        return None
    size = configured_mb or max((r.memory_size_mb or 0) for r in measured)
    if not size:
        return None

    def killed(report: ReportLine) -> bool:
        limit = report.memory_size_mb or size
        used = report.max_memory_used_mb or 0
        return report.error_type == "Runtime.OutOfMemory" or used >= OUT_OF_MEMORY_SHARE * limit

    return MemoryVerdict(
        invocations=len(measured),
        out_of_memory=sum(1 for r in measured if killed(r)),
        memory_size_mb=size,
        max_used_mb=max(r.max_memory_used_mb or 0 for r in measured),
    )


def lambda_memory_evidence(
    reports: LambdaReportReader,
    function_name: str,
    log_group: str,
    configured_mb: int | None,
    *,
    now: datetime,
    region: str | None = None,
) -> Evidence:
    """An out-of-memory (or memory-pressure) fact from the function's REPORT lines in the last hour; nothing when
    memory is comfortable."""
    evidence = Evidence()
    start = now - REPORT_LOOKBACK
    evidence.looked_at.append(f"Lambda {function_name} REPORT lines (memory used vs memory size), last hour")
    lines = evidence.read(
        f"REPORT lines of {function_name}", lambda: reports.reports(log_group, start, now + timedelta(minutes=1))
    )
    if not lines:
        return evidence
    verdict = memory_verdict(lines, configured_mb)
    if verdict is None or (verdict.out_of_memory == 0 and verdict.share < MEMORY_PRESSURE_SHARE):
        return evidence
    used = f"Max Memory Used {number(verdict.max_used_mb)} MB of its {number(verdict.memory_size_mb)} MB Memory Size"
    if verdict.out_of_memory:
        key = "compute.out_of_memory"
        text = (
            f"{function_name} runs out of memory: {verdict.out_of_memory} of {verdict.invocations} invocations "
            f"in the last hour killed at the limit (Runtime.OutOfMemory); {used}"
        )
    else:
        key = "compute.memory_pressure"
        text = f"{function_name} runs close to its memory limit: {used} ({verdict.share:.0%})"
    evidence.facts.append(
        Fact(
            key=key,
            text=text,
            value=verdict.out_of_memory,
            link=console_links.log_group_url(log_group, region),
            subject=function_name,
            numbers=Measurement(
                value=float(verdict.max_used_mb),
                threshold=float(verdict.memory_size_mb),
                unit="MB",
                window="1h",
                crossed=verdict.max_used_mb >= OUT_OF_MEMORY_SHARE * verdict.memory_size_mb,
            ),
        )
    )
    return evidence


def lambda_connections_evidence(
    lambdas: LambdaReader, queues: QueueReaders, target: Target, *, now: datetime
) -> Evidence:
    """The function's neighbours and its memory verdict (its configuration is read once and cached)."""
    evidence = Evidence()
    configuration = evidence.read(f"Lambda function {target.name}", lambda: lambdas.function(target.name))
    if configuration is None:
        return Evidence()  # the configuration read already says why (lambda_function_evidence)
    evidence.add(
        lambda_neighbours_evidence(target.name, configuration, queues.mappings, queues.dynamodb, region=target.region)
    )
    memory = configuration.get("MemorySize")
    log_group = target.log_group
    if log_group:
        evidence.add(
            lambda_memory_evidence(
                queues.reports,
                target.name,
                log_group,
                int(memory) if isinstance(memory, int | float) and not isinstance(memory, bool) else None,
                now=now,
                region=target.region,
            )
        )
    return evidence
