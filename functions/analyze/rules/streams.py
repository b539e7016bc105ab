"""Kinesis data streams: why a stream's consumer falls behind (its iterator age climbs), and a stream's commands.

The stream's interpreter (`functions.shared.investigate.streams`) says that the consumer falls behind and what the
producers and the shards did; the consumer's own facts come from the graph walk (the Lambda function behind the
event source mapping: its Errors, Throttles, Duration and timeout). The detector weighs them in the order an SRE
rules causes out: a consumer that fails holds its shards (each batch is retried); a consumer that is throttled
cannot run; a stream over its shards' capacity cannot be read faster; a consumer that is healthy but slow is
under-parallelised for the traffic.
"""

from __future__ import annotations

from datetime import datetime

from functions.analyze.rules.commands import (
    account_arn,
    alert_target,
    diagnostics_moment,
    event_source_mappings,
    function_log_group,
    function_option,
    in_region,
    recent_errors,
)
from functions.analyze.rules.facts import (
    Facts,
    Finding,
    alarm_details,
    alert_resource_name,
    as_clause,
    fact_peak,
    log_summary,
    neighbour_text,
    text_after_colon,
    with_facts,
)
from functions.shared.aws_commands import BuiltCommand, ValueKind, kind_problem, opt
from functions.shared.models import Alert, Fact

# Without the stream's own reading of its consumer: the walk's Duration (p99) at this share of the timeout.
NEAR_TIMEOUT_SHARE = 0.8
MAX_PARALLELIZATION_FACTOR = 10
# A stream consumer's own lag metric: how old the last record of each batch was when the function got it.
LAMBDA_ITERATOR_AGE = "IteratorAge"


def _stream_arn(alert: Alert, name: str) -> str | None:
    return account_arn(alert, "kinesis", f"stream/{name}")


def _stream_commands(alert: Alert, name: str) -> list[BuiltCommand]:
    """The stream's shards and retention, its Lambda consumers' mappings, and its enhanced fan-out consumers."""
    commands = [in_region(alert, "kinesis", "describe-stream-summary", opt("--stream-name", name))]
    arn = _stream_arn(alert, name)
    if arn:
        commands.append(event_source_mappings(alert, arn))
        commands.append(in_region(alert, "kinesis", "list-stream-consumers", opt("--stream-arn", arn, ValueKind.ARN)))
    return commands


def _consumer_metric(facts: Facts, metric: str) -> Fact | None:
    """The consumer's metric (a neighbour's fact, reached through the mapping) when it is above zero."""
    fact = facts.get(f"compute.metric.{metric}")
    if fact is not None and fact.via is not None and (fact_peak(fact) or 0) > 0:
        return fact
    return None


def _consumer_fact(facts: Facts, key: str, metric: str) -> Fact | None:
    """The stream's own reading of its consumer (`key`), else the consumer's metric reached by the graph walk."""
    fact = facts.get(key)
    if fact is not None and (fact.numbers is None or (fact.numbers.value or 0) > 0):
        return fact
    return _consumer_metric(facts, metric)


def _near_timeout(facts: Facts) -> Fact | None:
    """The consumer's Duration fact when its slowest invocations come close to its timeout."""
    own = facts.get("compute.stream_consumer_duration")
    if own is not None and own.numbers is not None:
        return own if own.numbers.crossed else None
    duration = facts.get("compute.metric.Duration")
    config = facts.get("compute.lambda_config")
    timeout = config.numbers.value if config is not None and config.numbers is not None else None
    peak = fact_peak(duration)
    if duration is None or duration.via is None or not timeout or peak is None:
        return None
    return duration if peak >= NEAR_TIMEOUT_SHARE * timeout * 1000 else None


def _consumer_lag_alarm(alert: Alert, consumer: str | None) -> bool:
    """Whether the alert is the stream consumer's own lag alarm (AWS/Lambda IteratorAge of that function): the same
    question as the stream's iterator age, asked from the consumer's side."""
    alarm = alarm_details(alert)
    return (
        consumer is not None
        and alarm.namespace == "AWS/Lambda"
        and alarm.metric_name == LAMBDA_ITERATOR_AGE
        and alert_target(alert, "lambda") == consumer
    )


def stream_falling_behind(alert: Alert, facts: Facts) -> Finding | None:
    behind = facts.get("compute.stream_falling_behind")
    if behind is None:
        return None
    stream = behind.subject or alert_resource_name(alert)
    consumer_fact = facts.get("compute.stream_consumer")
    consumer = str(consumer_fact.value) if consumer_fact is not None and consumer_fact.value else None
    if behind.via is not None and not _consumer_lag_alarm(alert, consumer):
        return None  # a stream behind a failing neighbour is a consequence, not this alert's cause
    who = f"Lambda {consumer}" if consumer else "the consumer"
    factor = consumer_fact.numbers.value if consumer_fact is not None and consumer_fact.numbers else None
    spike = facts.get("compute.stream_producer_spike")
    write_throttled = facts.get("compute.stream_write_throttled")
    read_throttled = facts.get("compute.stream_read_throttled")
    errors = _consumer_fact(facts, "compute.stream_consumer_errors", "Errors")
    throttles = _consumer_fact(facts, "compute.stream_consumer_throttles", "Throttles")
    slow = _near_timeout(facts)
    diagnostics = _stream_commands(alert, stream)
    named = consumer is not None and not kind_problem(consumer, ValueKind.LAMBDA_FUNCTION)
    lead = f"The consumer of Kinesis stream {stream} falls behind: {text_after_colon(behind)}"
    related = ["compute.stream_falling_behind", "compute.stream_consumer", "compute.stream_config"]
    if errors is not None:
        sentence = f"{lead}; {who} fails, and a failed batch is retried, so its shard does not advance: "
        sentence += neighbour_text(errors)
        sentence = with_facts(sentence, facts, ("compute.out_of_memory", "compute.recent_change"))
        logs = log_summary(facts)
        if logs:
            sentence += f"; {logs}"
        change = facts.get("compute.recent_change")
        recommendations = [
            f"Fix {who}'s failure first"
            + (": roll back the recent change" if change is not None else ": the error in its logs is what stops it")
            + "; more shards or parallelization would only retry the failing batches faster.",
            "Keep one bad record from holding a shard: set BisectBatchOnFunctionError, a MaximumRetryAttempts and an "
            "on-failure destination on the event source mapping.",
            f"Watch {stream}'s iterator age: records older than the retention period expire unread.",
        ]
        if named and consumer:
            diagnostics.append(recent_errors(alert, function_log_group(consumer), diagnostics_moment(alert, None)))
        return Finding(
            root_cause=sentence + ".",
            confidence="high",
            evidence_keys=[*related, errors.key, "compute.recent_change", "logs.pattern.1"],
            recommendations=recommendations,
            diagnostics=diagnostics,
        )
    if throttles is not None:
        sentence = f"{lead}; {who} is throttled, so its batches wait: {neighbour_text(throttles)}"
        sentence = with_facts(sentence, facts, ("compute.reserved_concurrency",))
        if named and consumer:
            diagnostics.append(in_region(alert, "lambda", "get-function-concurrency", function_option(consumer)))
        return Finding(
            root_cause=sentence + ".",
            confidence="high",
            evidence_keys=[*related, throttles.key, "compute.reserved_concurrency"],
            recommendations=[
                f"Give {who} the concurrency the stream needs (open shards x parallelization factor): raise its "
                "reserved concurrency, or the account's concurrency quota if other functions use it up.",
                f"Watch {stream}'s iterator age until it falls back under a minute.",
            ],
            diagnostics=diagnostics,
        )
    throttled = [fact for fact in (write_throttled, read_throttled) if fact is not None]
    if throttled:
        sentence = f"Kinesis stream {stream} is at its shards' capacity"
        sentence += f" after a producer spike: {text_after_colon(spike)}" if spike is not None else ""
        sentence += "; " + "; ".join(as_clause(fact.text) for fact in throttled)
        sentence += f"; {who} is healthy (no errors, no throttles) but reads behind: {text_after_colon(behind)}"
        recommendations = [
            f"Add shards to {stream} (UpdateShardCount; each shard adds 1,000 records/s in and 2 MB/s out) or switch "
            "it to on-demand capacity: the consumer cannot read faster than the shards serve.",
        ]
        if read_throttled is not None:
            recommendations.append(
                f"Give each consumer of {stream} its own read throughput with enhanced fan-out, instead of sharing "
                "5 GetRecords calls/s per shard."
            )
        if spike is not None:
            recommendations.append(
                "Find which producer sent the extra records (its deploy, a backfill, a retry loop) and whether the "
                "level is the new normal before sizing the shards for it."
            )
        recommendations.append(f"Watch {stream}'s iterator age: records older than the retention period expire unread.")
        return Finding(
            root_cause=sentence + ".",
            confidence="high",
            evidence_keys=[
                "compute.stream_falling_behind",
                "compute.stream_write_throttled",
                "compute.stream_read_throttled",
                "compute.stream_producer_spike",
                "compute.stream_config",
                "compute.stream_consumer",
            ],
            recommendations=recommendations,
            diagnostics=diagnostics,
        )
    if slow is not None or spike is not None:
        sentence = f"{lead}; {who} is healthy (no errors, no throttles) but too slow for the traffic"
        if spike is not None:
            sentence += f": a producer spike, {text_after_colon(spike)}"
        if slow is not None:
            config = facts.get("compute.lambda_config")
            own = slow.key == "compute.stream_consumer_duration"
            sentence += "; its slowest batches take most of its timeout: "
            sentence += text_after_colon(slow) if own else neighbour_text(slow)
            if config is not None and not own:
                sentence += f" ({as_clause(config.text)})"
        if consumer_fact is not None:
            sentence += f"; {as_clause(consumer_fact.text)}"
        current = f" (now {factor:g})" if factor is not None else ""
        recommendations = [
            f"Raise the event source mapping's ParallelizationFactor{current}, up to "
            f"{MAX_PARALLELIZATION_FACTOR}: each shard then feeds that many concurrent batches of {who}.",
            "Process more per invocation (a larger batch size or batching window) and make the handler faster; "
            "keep the slowest batch well inside the timeout.",
            f"Watch {stream}'s iterator age until it drains, well inside the retention period.",
        ]
        if named and consumer:
            diagnostics.append(in_region(alert, "lambda", "get-function-configuration", function_option(consumer)))
        return Finding(
            root_cause=sentence + ".",
            confidence="high" if slow is not None and factor is not None else "medium",
            evidence_keys=[
                *related,
                "compute.stream_producer_spike",
                slow.key if slow is not None else "compute.stream_consumer_duration",
            ],
            recommendations=recommendations,
            diagnostics=diagnostics,
        )
    sentence = f"{lead}; neither a consumer error or throttle, a producer spike nor the shards' capacity explains it"
    if consumer_fact is None:
        sentence += " (no Lambda event source mapping reads it: its consumer is outside Lambda)"
    return Finding(
        root_cause=sentence + ".",
        confidence="low",
        evidence_keys=related,
        recommendations=[
            f"Look at whoever reads {stream} (a KCL application, Firehose, a Flink job): its errors and its "
            "checkpoints per shard.",
            f"Watch {stream}'s iterator age: records older than the retention period expire unread.",
        ],
        diagnostics=diagnostics,
    )


def kinesis_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    stream = alert_target(alert, "kinesis_stream")
    return _stream_commands(alert, stream) if stream else []
