"""SQS evidence: the queue's configuration, its dead-letter queue, its consumers, and whether they keep up.

The interpreter (`queue_verdict`) reads the queue's flow the way an SRE does: producers still sending while
deletes drop to about zero and the oldest message ages is a **consumer stall** (the consumer fails or stopped);
deletes that continue but fall behind sends, with a healthy consumer, is a **backlog** (the consumer lacks
throughput); deletes that track sends is a busy, healthy queue and no finding at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from functions.shared import console_links
from functions.shared.adapters.cloudwatch import CloudWatchReader
from functions.shared.adapters.queues import (
    EventSourceMapping,
    EventSourceMappingReader,
    QueueAttributes,
    SqsReader,
    queue_name_of_arn,
)
from functions.shared.investigate.base import Evidence, Neighbour, number
from functions.shared.investigate.flow import FlowWindow, read_flow
from functions.shared.investigate.target import Target
from functions.shared.models import Fact, Measurement

SENT = "NumberOfMessagesSent"
DELETED = "NumberOfMessagesDeleted"
AGE = "ApproximateAgeOfOldestMessage"
VISIBLE = "ApproximateNumberOfMessagesVisible"
FLOW_METRICS = [(SENT, "Sum"), (DELETED, "Sum"), (AGE, "Maximum"), (VISIBLE, "Maximum")]

# Deletes at or below this share of what they were (or of what is sent now) count as "about zero".
STALLED_SHARE = 0.1
# Deletes at or above this share of sends keep up with the producers.
KEEPING_UP_SHARE = 0.9
# The oldest message must be at least this old, and at least twice its usual age, to count as climbing.
MIN_AGE_SECONDS = 300.0


class QueueVerdict(BaseModel):
    """What the queue's flow says, with the numbers behind it."""

    kind: Literal["stall", "backlog", "keeping_up", "unknown"]
    sent_recent: float | None = None  # per 5 minutes
    sent_baseline: float | None = None
    deleted_recent: float | None = None
    deleted_baseline: float | None = None
    age_latest: float | None = None  # seconds
    age_baseline: float | None = None
    visible_latest: float | None = None
    visible_baseline: float | None = None


def _climbing(window: FlowWindow | None, minimum: float) -> bool:
    if window is None or window.latest is None:
        return False
    usual = window.baseline or 0.0
    return window.latest >= minimum and window.latest >= 2 * usual


def queue_verdict(flow: dict[str, FlowWindow], *, has_consumer: bool) -> QueueVerdict:
    """Stall, backlog, keeping up, or unknown, from the queue's sent / deleted / age / visible windows."""
    sent, deleted, age, visible = flow.get(SENT), flow.get(DELETED), flow.get(AGE), flow.get(VISIBLE)
    verdict = QueueVerdict(
        kind="unknown",
        sent_recent=sent.recent if sent else None,
        sent_baseline=sent.baseline if sent else None,
        deleted_recent=deleted.recent if deleted else None,
        deleted_baseline=deleted.baseline if deleted else None,
        age_latest=age.latest if age else None,
        age_baseline=age.baseline if age else None,
        visible_latest=visible.latest if visible else None,
        visible_baseline=visible.baseline if visible else None,
    )
    if verdict.sent_recent is None or verdict.sent_recent <= 0 or verdict.deleted_recent is None:
        return verdict  # nothing is being sent now (or no data): nothing to say about the consumer
    consumed_before = (verdict.deleted_baseline or 0) > 0
    if not (consumed_before or has_consumer):
        return verdict  # a queue nobody consumes (a dead-letter queue) does not stall
    piling_up = _climbing(age, MIN_AGE_SECONDS) or _climbing(visible, max(100.0, verdict.sent_recent))
    reference = max(verdict.deleted_baseline or 0.0, verdict.sent_recent)
    sending_as_usual = verdict.sent_baseline is None or verdict.sent_recent >= 0.5 * verdict.sent_baseline
    if verdict.deleted_recent <= STALLED_SHARE * reference and sending_as_usual and piling_up:
        verdict.kind = "stall"
    elif verdict.deleted_recent < KEEPING_UP_SHARE * verdict.sent_recent and piling_up:
        verdict.kind = "backlog"
    elif verdict.deleted_recent >= KEEPING_UP_SHARE * verdict.sent_recent:
        verdict.kind = "keeping_up"
    return verdict


def _duration(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def _config_text(queue: QueueAttributes) -> str:
    parts = []
    if queue.visible is not None:
        parts.append(f"{number(queue.visible)} messages visible")
    if queue.in_flight is not None:
        parts.append(f"{number(queue.in_flight)} in flight")
    if queue.visibility_timeout_seconds is not None:
        parts.append(f"visibility timeout {queue.visibility_timeout_seconds} s")
    if queue.retention_seconds is not None:
        parts.append(f"retention {_duration(queue.retention_seconds)}")
    if queue.dead_letter_queue:
        parts.append(f"redrive to {queue.dead_letter_queue} after {queue.max_receive_count or '?'} receives")
    else:
        parts.append("no dead-letter queue")
    return f"SQS {queue.name}: " + ", ".join(parts)


def _mapping_text(mapping: EventSourceMapping) -> str:
    parts = [mapping.state or "state unknown"]
    if mapping.batch_size is not None:
        parts.append(f"batch size {mapping.batch_size}")
    if mapping.maximum_concurrency is not None:
        parts.append(f"maximum concurrency {mapping.maximum_concurrency}")
    if mapping.last_processing_result:
        parts.append(f"last result {mapping.last_processing_result}")
    return f"Lambda {mapping.function_name} via event source mapping (" + ", ".join(parts) + ")"


def _verdict_fact(
    queue_name: str, verdict: QueueVerdict, consumers: list[EventSourceMapping], link: str
) -> Fact | None:
    if verdict.kind not in ("stall", "backlog"):
        return None
    sent = number(round(verdict.sent_recent or 0))
    deleted = number(round(verdict.deleted_recent or 0))
    consumer = f"Lambda {consumers[0].function_name}" if consumers else "its consumer"
    if verdict.kind == "stall":
        text = f"Consumer stall on {queue_name}: {sent} messages sent per 5 min"
        if verdict.sent_baseline is not None:
            text += f" (usual {number(round(verdict.sent_baseline))})"
        text += f" but {deleted} deleted"
        if verdict.deleted_baseline is not None:
            text += f" (usual {number(round(verdict.deleted_baseline))})"
        text += f": {consumer} is failing or stopped"
    else:
        text = f"Backlog on {queue_name}: {sent} messages sent per 5 min but only {deleted} deleted: {consumer} "
        text += "processes messages but not fast enough"
    if verdict.age_latest is not None:
        text += f"; oldest message {_duration(verdict.age_latest)} old"
        if verdict.age_baseline is not None:
            text += f" (usual {_duration(verdict.age_baseline)})"
    if verdict.visible_latest is not None:
        text += f"; {number(round(verdict.visible_latest))} visible"
    return Fact(
        key="compute.queue_stall" if verdict.kind == "stall" else "compute.queue_backlog",
        text=text,
        value=verdict.kind,
        link=link,
        subject=queue_name,
        numbers=Measurement(
            value=verdict.deleted_recent,
            baseline=verdict.sent_recent,
            unit="messages",
            window="5m",
            latest=verdict.age_latest,
        ),
    )


def sqs_queue_evidence(
    sqs: SqsReader, mappings: EventSourceMappingReader, cloudwatch: CloudWatchReader, target: Target, *, now: datetime
) -> Evidence:
    """The queue's configuration and dead-letter queue depth, its consumers (event source mappings, as neighbours
    with the dead-letter queue), and the consumer verdict from its sent / deleted / age metrics."""
    evidence = Evidence()
    name = target.name
    evidence.looked_at.append(f"SQS {name} attributes and event source mappings")
    queue = evidence.read_resource(f"SQS queue {name}", lambda: sqs.queue(name), missing=f"No SQS queue named {name}")
    if queue is None:
        return evidence
    link = console_links.sqs_queue_url(queue.url, target.region)
    evidence.facts.append(
        Fact(
            key="compute.queue_config",
            text=_config_text(queue),
            value=queue.visible,
            link=link,
            subject=name,
            numbers=Measurement(value=float(queue.visible), unit="messages") if queue.visible is not None else None,
        )
    )
    dlq_name = queue.dead_letter_queue
    if dlq_name:
        dlq = evidence.read(f"dead-letter queue {dlq_name}", lambda: sqs.queue(dlq_name))
        if dlq is not None and dlq.visible is not None:
            evidence.facts.append(
                Fact(
                    key="compute.dead_letter_queue",
                    text=f"Dead-letter queue {dlq_name} holds {number(dlq.visible)} messages "
                    f"(messages land there after {queue.max_receive_count or '?'} failed receives)",
                    value=dlq.visible,
                    link=console_links.sqs_queue_url(dlq.url, target.region),
                    subject=dlq_name,
                    numbers=Measurement(value=float(dlq.visible), unit="messages"),
                )
            )
    consumers: list[EventSourceMapping] = []
    if queue.arn:
        arn = queue.arn
        consumers = evidence.read(f"event source mappings of {name}", lambda: mappings.mappings(source_arn=arn)) or []
    if consumers:
        evidence.facts.append(
            Fact(
                key="compute.queue_consumer",
                text=f"Consumer of {name}: " + "; ".join(_mapping_text(m) for m in consumers[:2]),
                value=consumers[0].function_name,
                link=console_links.lambda_function_url(consumers[0].function_name, target.region),
                subject=consumers[0].function_name,
                numbers=Measurement(value=float(consumers[0].batch_size), unit="messages per batch")
                if consumers[0].batch_size is not None
                else None,
            )
        )
    elif queue.arn:
        evidence.notes.append(f"No Lambda event source mapping reads {name}.")
    sources: list[str] = []
    if not consumers and not dlq_name:
        # Nobody consumes it and it has no dead-letter queue of its own: it may be one. Its messages come from the
        # queues whose consumers failed them, and that is where the failure is.
        sources = evidence.read(f"queues that dead-letter into {name}", lambda: sqs.dead_letter_sources(queue)) or []
    if sources and queue.visible:  # an empty dead-letter queue says nothing its source queue does not
        evidence.facts.append(
            Fact(
                key="compute.dead_letter_sources",
                text=f"{name} is the dead-letter queue of {', '.join(sources[:3])} and holds "
                f"{number(queue.visible or 0)} messages their consumer failed to process",
                value=sources[0],
                link=link,
                subject=name,
                numbers=Measurement(value=float(queue.visible), unit="messages") if queue.visible is not None else None,
            )
        )
    if sources:
        for source in sources[:2]:
            evidence.neighbours.append(
                Neighbour(
                    target=Target.of("sqs", source, target.region),
                    edge=f"source queue whose failed messages land in {name} (redrive policy)",
                )
            )
    for mapping in consumers[:2]:
        batch = f", batch size {mapping.batch_size}" if mapping.batch_size is not None else ""
        evidence.neighbours.append(
            Neighbour(
                target=Target.of("lambda", mapping.function_name, target.region),
                edge=f"consumer of SQS queue {name} (event source mapping{batch})",
            )
        )
    if dlq_name:
        evidence.neighbours.append(
            Neighbour(target=Target.of("sqs", dlq_name, target.region), edge=f"dead-letter queue of SQS queue {name}")
        )
    evidence.looked_at.append(f"CloudWatch AWS/SQS flow of {name} (sent, deleted, oldest message), last 3 h")
    flow = evidence.read(
        f"AWS/SQS flow metrics of {name}",
        lambda: read_flow(
            cloudwatch, "AWS/SQS", target.dimensions, FLOW_METRICS, now=now, count_metrics=frozenset({SENT, DELETED})
        ),
    )
    if flow is not None:
        verdict = queue_verdict(flow, has_consumer=bool(consumers))
        fact = _verdict_fact(name, verdict, consumers, link)
        if fact is not None:
            evidence.facts.insert(0, fact)
        elif verdict.kind == "keeping_up":
            evidence.notes.append(f"{name}'s consumers keep up: messages are deleted about as fast as they are sent.")
    return evidence


def consumer_log_group(
    mappings: EventSourceMappingReader, queue_arn: str, evidence: Evidence, sqs: SqsReader | None = None
) -> tuple[str, str] | None:
    """(consumer function, its log group) for a queue or a Kinesis stream (`queue_arn` is either), which has no logs
    of its own: where its failures show. For a dead-letter queue (nobody consumes it), the consumer of the queue
    whose failed messages land in it."""
    consumers = evidence.read(f"event source mappings of {queue_arn}", lambda: mappings.mappings(source_arn=queue_arn))
    name = queue_name_of_arn(queue_arn)
    if not consumers and sqs is not None and name:
        queue = evidence.read(f"SQS queue {name}", lambda: sqs.queue(name))
        sources = (
            evidence.read(f"queues that dead-letter into {name}", lambda: sqs.dead_letter_sources(queue))
            if queue
            else None
        )
        first = sources[0] if sources else None
        source = evidence.read(f"SQS queue {first}", lambda: sqs.queue(first)) if first else None
        if source is not None and source.arn:
            arn = source.arn
            consumers = evidence.read(
                f"event source mappings of {source.name}", lambda: mappings.mappings(source_arn=arn)
            )
    if not consumers:
        return None
    function = consumers[0].function_name
    target = Target.of("lambda", function)
    return (function, target.log_group) if target.log_group else None
