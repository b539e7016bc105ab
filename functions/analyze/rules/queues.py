"""SQS queues: a stalled consumer, messages arriving in a dead-letter queue, a backlog the consumer cannot
keep up with; and a queue's commands (its URL, its event source mappings).
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


def _sqs_queue_arn(alert: Alert, name: str) -> str | None:
    return account_arn(alert, "sqs", name)


def _queue_commands(alert: Alert, name: str) -> list[BuiltCommand]:
    """The queue's URL (its attributes need it) and its event source mappings (its consumers' state)."""
    commands = [in_region(alert, "sqs", "get-queue-url", opt("--queue-name", name))]
    arn = _sqs_queue_arn(alert, name)
    if arn:
        commands.append(event_source_mappings(alert, arn))
    return commands


def _consumer_errors(facts: Facts) -> Fact | None:
    errors = facts.get("compute.metric.Errors")
    if errors is not None and (fact_peak(errors) or 0) > 0:
        return errors
    return None


def queue_consumer_stall(alert: Alert, facts: Facts) -> Finding | None:
    stall = facts.get("compute.queue_stall")
    if stall is None:
        return None
    queue = stall.subject or alert_resource_name(alert)
    consumer_fact = facts.get("compute.queue_consumer")
    consumer = str(consumer_fact.value) if consumer_fact is not None and consumer_fact.value else None
    sentence = f"The consumer of SQS queue {queue} has stalled: {text_after_colon(stall)}"
    errors = _consumer_errors(facts)
    if errors is not None:
        sentence += f"; {neighbour_text(errors)}"
    sentence = with_facts(sentence, facts, ("compute.out_of_memory", "compute.recent_change"))
    change = facts.get("compute.recent_change")
    logs = log_summary(facts)
    if logs:
        sentence += f"; {logs}"
    dlq = facts.get("compute.dead_letter_queue")
    if dlq is not None and (facts.number("compute.dead_letter_queue") or 0) > 0:
        sentence += f"; {as_clause(dlq.text)}"
    who = f"Lambda {consumer}" if consumer else "the consumer"
    fix = f"Fix {who}'s failure first: "
    fix += "roll back the recent deploy" if change is not None else "the error in its logs is what stops it"
    fix += "; more concurrency or a bigger batch would only fail faster."
    recommendations = [fix]
    if dlq is not None:
        recommendations.append(
            f"Once {who} succeeds again, redrive {dlq.subject or 'the dead-letter queue'} back to {queue} "
            "(SQS console: Start DLQ redrive) so the failed messages are processed."
        )
    recommendations.append(
        "Check that the event source mapping is Enabled and its last processing result returns to OK."
    )
    diagnostics = _queue_commands(alert, queue)
    if consumer and not kind_problem(consumer, ValueKind.LAMBDA_FUNCTION):
        diagnostics.append(recent_errors(alert, function_log_group(consumer), diagnostics_moment(alert, None)))
    return Finding(
        root_cause=sentence + ".",
        confidence="high" if errors is not None or logs else "medium",
        evidence_keys=[
            "compute.queue_stall",
            "compute.queue_consumer",
            "compute.metric.Errors",
            "compute.recent_change",
            "compute.dead_letter_queue",
            "logs.pattern.1",
        ],
        recommendations=recommendations,
        diagnostics=diagnostics,
    )


def dead_letter_arrivals(alert: Alert, facts: Facts) -> Finding | None:
    """Messages arrive in a dead-letter queue: the failure is its source queue's consumer, not the DLQ."""
    arrivals = facts.get("compute.dead_letter_sources")
    if arrivals is None or arrivals.via is not None or not (arrivals.numbers and arrivals.numbers.value):
        return None
    dlq = arrivals.subject or alert_resource_name(alert)
    source = str(arrivals.value or "its source queue")
    consumer_fact = facts.get("compute.queue_consumer")
    consumer = str(consumer_fact.value) if consumer_fact is not None and consumer_fact.value else None
    who = f"Lambda {consumer}" if consumer else "the consumer"
    sentence = f"Messages from SQS queue {source} are failing: {as_clause(arrivals.text)}"
    if consumer_fact is not None:
        sentence += f"; {as_clause(consumer_fact.text)}"
    errors = _consumer_errors(facts)
    if errors is not None:
        sentence += f"; {neighbour_text(errors)}"
    sentence = with_facts(sentence, facts, ("compute.out_of_memory", "compute.recent_change"))
    logs = log_summary(facts)
    if logs:
        sentence += f"; {logs}"
    diagnostics = _queue_commands(alert, dlq)
    if consumer and not kind_problem(consumer, ValueKind.LAMBDA_FUNCTION):
        diagnostics.append(recent_errors(alert, function_log_group(consumer), diagnostics_moment(alert, None)))
    return Finding(
        root_cause=sentence + ".",
        confidence="high" if errors is not None or logs else "medium",
        evidence_keys=[
            "compute.dead_letter_sources",
            "compute.queue_consumer",
            "compute.metric.Errors",
            "compute.recent_change",
            "logs.pattern.1",
        ],
        recommendations=[
            f"Find why {who} fails these messages (its errors and logs; a sample message in {dlq} shows the input) "
            "and fix that: the dead-letter queue only collects the failures.",
            f"Then redrive {dlq} back to {source} (SQS console: Start DLQ redrive); do not purge it, the messages "
            "are the work that failed.",
        ],
        diagnostics=diagnostics,
    )


def queue_backlog(alert: Alert, facts: Facts) -> Finding | None:
    backlog = facts.get("compute.queue_backlog")
    if backlog is None:
        return None
    queue = backlog.subject or alert_resource_name(alert)
    consumer_fact = facts.get("compute.queue_consumer")
    consumer = str(consumer_fact.value) if consumer_fact is not None and consumer_fact.value else None
    who = f"Lambda {consumer}" if consumer else "the consumer"
    errors = _consumer_errors(facts)
    reserved = facts.number("compute.reserved_concurrency")
    concurrency = fact_peak(facts.get("compute.metric.ConcurrentExecutions"))
    throttles = fact_peak(facts.get("compute.metric.Throttles"))
    sentence = f"SQS queue {queue} is backing up: {text_after_colon(backlog)}"
    if errors is not None:
        sentence += f"; {who} also fails ({neighbour_text(errors)})"
    else:
        sentence += f"; {who} is healthy (no errors) but lacks throughput"
    if reserved is not None:
        sentence += f": it is capped at a reserved concurrency of {int(reserved)}"
        if concurrency is not None:
            sentence += f" (ConcurrentExecutions peaked at {concurrency:g})"
    if throttles:
        sentence += f"; {throttles:,.0f} throttles at the peak"
    if consumer_fact is not None:
        sentence += f"; {as_clause(consumer_fact.text)}"
    recommendations = [
        f"Raise {who}'s concurrency: its reserved concurrency"
        + (f" (now {int(reserved)})" if reserved is not None else "")
        + " or the event source mapping's maximum concurrency, if downstream can take the load.",
        "Process more per invocation: a larger batch size or batching window, and a faster handler.",
        f"Watch ApproximateAgeOfOldestMessage on {queue} until the backlog drains, well inside the retention period.",
    ]
    if errors is not None:
        recommendations.insert(0, f"Fix {who}'s errors first: failed batches return to the queue and add to it.")
    diagnostics = _queue_commands(alert, queue)
    if consumer and not kind_problem(consumer, ValueKind.LAMBDA_FUNCTION):
        diagnostics.append(in_region(alert, "lambda", "get-function-concurrency", function_option(consumer)))
    return Finding(
        root_cause=sentence + ".",
        confidence="high" if reserved is not None or throttles else "medium",
        evidence_keys=[
            "compute.queue_backlog",
            "compute.queue_consumer",
            "compute.reserved_concurrency",
            "compute.metric.ConcurrentExecutions",
            "compute.metric.Throttles",
        ],
        recommendations=recommendations,
        diagnostics=diagnostics,
    )


def sqs_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    queue = alert_target(alert, "sqs")
    return _queue_commands(alert, queue) if queue else []
