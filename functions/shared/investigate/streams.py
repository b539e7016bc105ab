"""Kinesis evidence: the stream's capacity, its consumers, and why the consumers fall behind, if they do.

`GetRecords.IteratorAgeMilliseconds` is how old the last record a consumer read was: when it climbs, the consumer
reads further and further behind the tip of the stream, and at the retention period records expire unread. The
interpreter (`stream_verdict`) reads the stream's flow the way an SRE does and writes each part of the answer as
its own structured fact, so the rules weigh them together with the consumer's own metrics (reached through the
event source mapping, the same edge a queue's consumer is reached by):

- **falling behind**: the iterator age is at least a minute and at least twice what it was before;
- **producer spike**: IncomingRecords now against the same time a week before (else its usual level in the last
  hours), with how much of the shards' write capacity it takes;
- **the consumer's health**: its Errors, Throttles and slowest Duration against its timeout, read for the Lambda
  function behind the event source mapping, so the answer does not depend on which of the walk's facts fit the
  section;
- **write / read throttling**: WriteProvisionedThroughputExceeded (the producers are over the shards' 1,000 records
  or 1 MB a second each) and ReadProvisionedThroughputExceeded (the consumers are over 2 MB or 5 GetRecords calls a
  second per shard, shared by every consumer that is not enhanced fan-out).

A stream whose iterator age stays low is keeping up, however busy it is: no finding, only a note.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel

from functions.shared import console_links
from functions.shared.adapters.cloudwatch import CloudWatchReader
from functions.shared.adapters.compute import LambdaReader
from functions.shared.adapters.queues import EventSourceMapping, EventSourceMappingReader
from functions.shared.adapters.streams import KinesisReader, StreamSummary
from functions.shared.investigate.base import Evidence, Neighbour, number
from functions.shared.investigate.flow import FlowWindow, read_flow
from functions.shared.investigate.target import Target
from functions.shared.models import Fact, Measurement

ITERATOR_AGE = "GetRecords.IteratorAgeMilliseconds"
INCOMING = "IncomingRecords"
WRITE_EXCEEDED = "WriteProvisionedThroughputExceeded"
READ_EXCEEDED = "ReadProvisionedThroughputExceeded"
RECORDS_READ = "GetRecords.Records"
FLOW_METRICS = [
    (ITERATOR_AGE, "Maximum"),
    (INCOMING, "Sum"),
    (WRITE_EXCEEDED, "Sum"),
    (READ_EXCEEDED, "Sum"),
    (RECORDS_READ, "Sum"),
]
COUNT_METRICS = frozenset({INCOMING, WRITE_EXCEEDED, READ_EXCEEDED, RECORDS_READ})

# The iterator age must be at least this old, and at least twice its usual age, to count as falling behind.
MIN_BEHIND_MS = 60_000.0
# IncomingRecords at or above this multiple of a week before (or of its usual level) is a producer spike.
SPIKE_FACTOR = 1.5
WEEK = timedelta(days=7)
# A provisioned shard takes 1,000 records a second: per 5-minute period, this many.
SHARD_RECORDS_PER_PERIOD = 1000 * 300
# The consumer's slowest invocation at or above this share of its timeout is too slow for its batches.
NEAR_TIMEOUT_SHARE = 0.8
CONSUMER_METRICS = [("Errors", "Sum"), ("Throttles", "Sum"), ("Duration", "Maximum")]


class StreamVerdict(BaseModel):
    """What the stream's flow says, with the numbers behind it (counts per 5 minutes, ages in milliseconds)."""

    falling_behind: bool = False
    age_latest_ms: float | None = None
    age_baseline_ms: float | None = None
    incoming_recent: float | None = None
    incoming_baseline: float | None = None  # the usual level in the last hours, before the incident window
    incoming_week_before: float | None = None  # the same time a week earlier
    write_capacity: float | None = None  # what the open shards take per 5 minutes (provisioned mode only)
    write_exceeded_peak: float | None = None
    read_exceeded_peak: float | None = None
    records_read_recent: float | None = None

    @property
    def incoming_reference(self) -> float | None:
        """What IncomingRecords is compared with: a week before when known (traffic has a weekly shape)."""
        return self.incoming_week_before if self.incoming_week_before is not None else self.incoming_baseline

    @property
    def producer_spike(self) -> bool:
        reference = self.incoming_reference
        recent = self.incoming_recent
        return recent is not None and reference is not None and reference > 0 and recent >= SPIKE_FACTOR * reference


def _peak(window: FlowWindow | None) -> float | None:
    return window.peak if window is not None and window.peak is not None else None


def stream_verdict(
    flow: dict[str, FlowWindow], *, week_before: FlowWindow | None = None, open_shards: int | None = None
) -> StreamVerdict:
    """Falling behind or not, and the producer's and the throttles' numbers, from the stream's windows."""
    age, incoming = flow.get(ITERATOR_AGE), flow.get(INCOMING)
    records = flow.get(RECORDS_READ)
    verdict = StreamVerdict(
        age_latest_ms=age.latest if age else None,
        age_baseline_ms=age.baseline if age else None,
        incoming_recent=incoming.recent if incoming else None,
        incoming_baseline=incoming.baseline if incoming else None,
        incoming_week_before=(week_before.recent if week_before.recent is not None else week_before.baseline)
        if week_before is not None
        else None,
        write_capacity=float(open_shards * SHARD_RECORDS_PER_PERIOD) if open_shards else None,
        write_exceeded_peak=_peak(flow.get(WRITE_EXCEEDED)),
        read_exceeded_peak=_peak(flow.get(READ_EXCEEDED)),
        records_read_recent=records.recent if records else None,
    )
    latest = verdict.age_latest_ms
    usual = verdict.age_baseline_ms or 0.0
    verdict.falling_behind = latest is not None and latest >= MIN_BEHIND_MS and latest >= 2 * usual
    return verdict


def _age(ms: float) -> str:
    seconds = ms / 1000
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


def _config_text(stream: StreamSummary, consumers: int | None) -> str:
    parts = [stream.status or "status unknown", "on-demand" if stream.on_demand else "provisioned"]
    if stream.open_shards is not None:
        shards = f"{stream.open_shards} open shard{'s' if stream.open_shards != 1 else ''}"
        if not stream.on_demand:
            shards += f" (writes up to {number(stream.open_shards * 1000)} records/s)"
        parts.append(shards)
    if stream.retention_hours is not None:
        parts.append(f"retention {stream.retention_hours} h")
    if consumers:
        parts.append(f"{consumers} enhanced fan-out consumer{'s' if consumers != 1 else ''}")
    elif consumers == 0:
        parts.append("no enhanced fan-out consumer (every consumer shares each shard's 2 MB/s of reads)")
    return f"Kinesis {stream.name}: " + ", ".join(parts)


def _mapping_text(mapping: EventSourceMapping) -> str:
    parts = [mapping.state or "state unknown"]
    if mapping.batch_size is not None:
        parts.append(f"batch size {mapping.batch_size}")
    parts.append(f"parallelization factor {mapping.parallelization_factor or 1}")
    if mapping.maximum_retry_attempts is not None:
        retries = mapping.maximum_retry_attempts
        parts.append("retries a failing batch until its records expire" if retries < 0 else f"{retries} retries")
    if mapping.bisect_batch_on_error:
        parts.append("bisects a failing batch")
    if mapping.last_processing_result:
        parts.append(f"last result {mapping.last_processing_result}")
    return f"Lambda {mapping.function_name} via event source mapping (" + ", ".join(parts) + ")"


def _behind_fact(name: str, verdict: StreamVerdict, link: str) -> Fact:
    text = f"Consumers of {name} fall behind: GetRecords iterator age {_age(verdict.age_latest_ms or 0)}"
    if verdict.age_baseline_ms is not None:
        text += f" (usual {_age(verdict.age_baseline_ms)})"
    if verdict.incoming_recent is not None:
        text += f"; IncomingRecords {number(round(verdict.incoming_recent))} per 5 min"
    if verdict.records_read_recent is not None:
        text += f"; GetRecords.Records {number(round(verdict.records_read_recent))} per 5 min"
    return Fact(
        key="compute.stream_falling_behind",
        text=text,
        value="falling_behind",
        link=link,
        subject=name,
        numbers=Measurement(
            value=verdict.age_latest_ms, baseline=verdict.age_baseline_ms, unit="ms", threshold=MIN_BEHIND_MS
        ),
    )


def _incoming_fact(name: str, verdict: StreamVerdict, link: str) -> Fact | None:
    recent, reference = verdict.incoming_recent, verdict.incoming_reference
    if recent is None or reference is None:
        return None
    since = "a week before" if verdict.incoming_week_before is not None else "usual"
    spike = verdict.producer_spike
    text = (
        f"{'Producer spike on' if spike else 'Traffic on'} {name}: IncomingRecords {number(round(recent))} per 5 min "
    )
    text += f"({since} {number(round(reference))})"
    if verdict.write_capacity:
        text += f", {recent / verdict.write_capacity:.0%} of its shards' write capacity"
    return Fact(
        key="compute.stream_producer_spike" if spike else "compute.stream_incoming",
        text=text,
        value=round(recent / reference, 2) if reference else None,
        link=link,
        subject=name,
        numbers=Measurement(
            value=recent,
            baseline=reference,
            unit="records",
            window="5m",
            change_pct=round((recent - reference) / reference * 100, 1) if reference else None,
            threshold=verdict.write_capacity,
        ),
    )


def _throttle_fact(name: str, verdict: StreamVerdict, shards: int | None, link: str, *, write: bool) -> Fact | None:
    peak = verdict.write_exceeded_peak if write else verdict.read_exceeded_peak
    if not peak:
        return None
    shard_text = f"its {shards} shard{'s' if shards != 1 else ''}" if shards else "its shards"
    if write:
        text = (
            f"Writes to {name} are throttled: {WRITE_EXCEEDED} {number(round(peak))} per 5 min at the peak, "
            f"the producers are over {shard_text}' write capacity (1,000 records or 1 MB per second each)"
        )
    else:
        text = (
            f"Reads from {name} are throttled: {READ_EXCEEDED} {number(round(peak))} per 5 min at the peak, the "
            f"consumers are over {shard_text}' read capacity (2 MB or 5 GetRecords calls per second each, shared)"
        )
    return Fact(
        key="compute.stream_write_throttled" if write else "compute.stream_read_throttled",
        text=text,
        value=peak,
        link=link,
        subject=name,
        numbers=Measurement(value=peak, unit="count", window="5m"),
    )


class ConsumerHealth(BaseModel):
    """The Lambda consumer's failures and speed in the incident window (the last 45 minutes)."""

    function: str
    errors: float | None = None  # the highest 5-minute sum
    throttles: float | None = None
    duration_peak_ms: float | None = None
    timeout_ms: float | None = None

    @property
    def near_timeout(self) -> bool:
        return bool(
            self.duration_peak_ms and self.timeout_ms and self.duration_peak_ms >= NEAR_TIMEOUT_SHARE * self.timeout_ms
        )


def consumer_health(function: str, flow: dict[str, FlowWindow], timeout_seconds: float | None) -> ConsumerHealth:
    errors, throttles, duration = flow.get("Errors"), flow.get("Throttles"), flow.get("Duration")
    return ConsumerHealth(
        function=function,
        errors=_peak(errors),
        throttles=_peak(throttles),
        duration_peak_ms=_peak(duration),
        timeout_ms=timeout_seconds * 1000 if timeout_seconds else None,
    )


def _health_facts(stream: str, health: ConsumerHealth, link: str) -> list[Fact]:
    who = f"Lambda {health.function}, the consumer of {stream}"
    facts = []
    for key, count, what in (
        ("compute.stream_consumer_errors", health.errors, "errors"),
        ("compute.stream_consumer_throttles", health.throttles, "throttles"),
    ):
        if count:
            facts.append(
                Fact(
                    key=key,
                    text=f"{who}, has {number(round(count))} {what} per 5 min at the peak (last 45 min)",
                    value=count,
                    link=link,
                    subject=health.function,
                    numbers=Measurement(value=count, unit=what, window="5m"),
                )
            )
    if health.duration_peak_ms is not None and health.timeout_ms:
        share = health.duration_peak_ms / health.timeout_ms
        facts.append(
            Fact(
                key="compute.stream_consumer_duration",
                text=f"{who}: slowest invocation {health.duration_peak_ms / 1000:.1f} s of its "
                f"{health.timeout_ms / 1000:g} s timeout ({share:.0%}), last 45 min",
                value=round(share, 2),
                link=link,
                subject=health.function,
                numbers=Measurement(
                    value=health.duration_peak_ms,
                    threshold=health.timeout_ms,
                    unit="ms",
                    crossed=health.near_timeout,
                ),
            )
        )
    return facts


def _consumer_health_evidence(
    lambdas: LambdaReader,
    cloudwatch: CloudWatchReader,
    stream: str,
    function: str,
    *,
    now: datetime,
    region: str | None,
) -> Evidence:
    evidence = Evidence()
    configuration = evidence.read(f"Lambda function {function}", lambda: lambdas.function(function))
    timeout = (configuration or {}).get("Timeout")
    flow = evidence.read(
        f"AWS/Lambda Errors, Throttles and Duration of {function}",
        lambda: read_flow(
            cloudwatch,
            "AWS/Lambda",
            {"FunctionName": function},
            CONSUMER_METRICS,
            now=now,
            count_metrics=frozenset({"Errors", "Throttles"}),
        ),
    )
    if flow is None:
        return evidence
    health = consumer_health(function, flow, float(timeout) if isinstance(timeout, int | float) else None)
    evidence.facts.extend(_health_facts(stream, health, console_links.lambda_function_url(function, region)))
    return evidence


def kinesis_stream_evidence(
    kinesis: KinesisReader,
    mappings: EventSourceMappingReader,
    lambdas: LambdaReader,
    cloudwatch: CloudWatchReader,
    target: Target,
    *,
    now: datetime,
) -> Evidence:
    """The stream's capacity and consumers (Lambda event source mappings, as neighbours), and what its iterator
    age, IncomingRecords (against a week before) and throughput-exceeded metrics say."""
    evidence = Evidence()
    name = target.name
    evidence.looked_at.append(f"Kinesis {name} summary, enhanced fan-out consumers and event source mappings")
    stream = evidence.read_resource(
        f"Kinesis stream {name}", lambda: kinesis.stream(name), missing=f"No Kinesis data stream named {name}"
    )
    if stream is None:
        return evidence
    link = console_links.kinesis_stream_url(name, target.region)
    fan_out = None
    consumers: list[EventSourceMapping] = []
    if stream.arn:
        arn = stream.arn
        registered = evidence.read(f"enhanced fan-out consumers of {name}", lambda: kinesis.consumers(arn))
        fan_out = len(registered) if registered is not None else stream.consumer_count
        consumers = evidence.read(f"event source mappings of {name}", lambda: mappings.mappings(source_arn=arn)) or []
    evidence.facts.append(
        Fact(
            key="compute.stream_config",
            text=_config_text(stream, fan_out),
            value=stream.mode,
            link=link,
            subject=name,
            numbers=Measurement(value=float(stream.open_shards), unit="shards")
            if stream.open_shards is not None
            else None,
        )
    )
    if consumers:
        first = consumers[0]
        evidence.facts.append(
            Fact(
                key="compute.stream_consumer",
                text=f"Consumer of {name}: " + "; ".join(_mapping_text(m) for m in consumers[:2]),
                value=first.function_name,
                link=console_links.lambda_function_url(first.function_name, target.region),
                subject=first.function_name,
                # The number the rules read: concurrent batches per shard (1 to 10).
                numbers=Measurement(value=float(first.parallelization_factor or 1), unit="batches per shard"),
            )
        )
        evidence.looked_at.append(f"Lambda {first.function_name} Errors, Throttles and Duration vs its timeout")
        evidence.add(
            _consumer_health_evidence(lambdas, cloudwatch, name, first.function_name, now=now, region=target.region)
        )
    elif stream.arn:
        evidence.notes.append(f"No Lambda event source mapping reads {name}.")
    for mapping in consumers[:2]:
        batch = f", batch size {mapping.batch_size}" if mapping.batch_size is not None else ""
        evidence.neighbours.append(
            Neighbour(
                target=Target.of("lambda", mapping.function_name, target.region),
                edge=f"consumer of Kinesis stream {name} (event source mapping{batch}, "
                f"parallelization factor {mapping.parallelization_factor or 1})",
            )
        )
    evidence.looked_at.append(
        f"CloudWatch AWS/Kinesis flow of {name} (iterator age, incoming records, throughput exceeded), last 3 h, "
        "and IncomingRecords a week before"
    )
    flow = evidence.read(
        f"AWS/Kinesis flow metrics of {name}",
        lambda: read_flow(
            cloudwatch, "AWS/Kinesis", target.dimensions, FLOW_METRICS, now=now, count_metrics=COUNT_METRICS
        ),
    )
    if flow is None:
        return evidence
    week = evidence.read(
        f"AWS/Kinesis IncomingRecords of {name} a week before",
        lambda: read_flow(cloudwatch, "AWS/Kinesis", target.dimensions, [(INCOMING, "Sum")], now=now - WEEK),
    )
    week_window = (week or {}).get(INCOMING)
    if week_window is not None and week_window.points == 0:
        week_window = None
    shards = None if stream.on_demand else stream.open_shards
    verdict = stream_verdict(flow, week_before=week_window, open_shards=shards)
    found = [
        _incoming_fact(name, verdict, link),
        _throttle_fact(name, verdict, stream.open_shards, link, write=True),
        _throttle_fact(name, verdict, stream.open_shards, link, write=False),
    ]
    if verdict.falling_behind:
        found.insert(0, _behind_fact(name, verdict, link))
    elif verdict.age_latest_ms is not None:
        evidence.notes.append(
            f"{name}'s consumers keep up: the GetRecords iterator age is {_age(verdict.age_latest_ms)}."
        )
    evidence.facts[:0] = [fact for fact in found if fact is not None]
    return evidence
