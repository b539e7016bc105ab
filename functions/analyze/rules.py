"""Rule-based analysis: what an experienced on-call engineer concludes from the alert and its context alone.

It runs when no model is configured, for heartbeat and info alerts, and whenever the AI analysis is unavailable,
so it must never raise for any alert or context.

The rules read the facts the gather stages write (`functions/shared/investigate`): their keys (`cost.top_mover`,
`compute.lambda_mover`, `compute.alarm_metric`, `logs.pattern.1`, ...) and values are the contract, and the
sentences below quote the facts' own text rather than re-deriving numbers. Each alert type has a short list of
detectors, most specific first; the first that fires names the root cause. When the evidence shows nothing wrong
(the alarm's metric never crossed its threshold, missing data treated as breaching, clean logs), the analysis says
so instead of inventing a cause.

Every suggested command is built by `functions.shared.aws_commands.build_command` from botocore's model of its
operation, never pasted together: a resource name, instance id, region or alarm name from the alert that is not a
valid one of its kind yields no command and a line under Unknowns instead. Time windows are absolute, computed from
the alert's own time (or the `now` passed in), so a command means the same on any machine and any day.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from functions.shared.alert_details import (
    BudgetDetails,
    CloudWatchAlarmDetails,
    GuardDutyDetails,
    HealthDetails,
    SecurityHubDetails,
)
from functions.shared.aws_commands import BuiltCommand, Opt, ValueKind, build_command, flag, kind_problem, opt
from functions.shared.models import (
    Alert,
    AnalysisBody,
    Confidence,
    ContextSection,
    EvidenceClaim,
    Fact,
    GatheredContext,
)
from functions.shared.registry import RESOURCE_TYPES, ResourceKind, resource_type, source_spec

_MISSING_DATA_BREACHING = re.compile(r"missing datapoints? (?:was|were) treated as \[?breaching", re.IGNORECASE)
_LAMBDA_MOVER = re.compile(r"^Lambda (?P<name>\S+):")
_COST_MOVER = re.compile(r"^(?:Top mover |Driven by usage type )?(?P<label>.+?): \$")
_PEAK = re.compile(r"peak (?P<peak>[\d,.]+)")


# --- Reading the context ---------------------------------------------------------------------------------------


@dataclass
class Facts:
    """Every fact of the sections that were gathered, by key, with the section it came from."""

    by_key: dict[str, tuple[Fact, ContextSection]] = field(default_factory=dict)

    @classmethod
    def of(cls, context: GatheredContext) -> Facts:
        facts = cls()
        for section in context.sections():
            if section.status != "ok":
                continue
            for fact in section.facts:
                facts.by_key.setdefault(fact.key, (fact, section))
        return facts

    def get(self, key: str) -> Fact | None:
        found = self.by_key.get(key)
        return found[0] if found else None

    def number(self, key: str) -> float | None:
        fact = self.get(key)
        if fact is None or isinstance(fact.value, str) or fact.value is None:
            return None
        return float(fact.value)

    def claim(self, key: str) -> EvidenceClaim | None:
        found = self.by_key.get(key)
        if found is None:
            return None
        fact, section = found
        return EvidenceClaim(claim=fact.text, section=section.name, link=fact.link)

    def keys(self, prefix: str) -> list[str]:
        return [k for k in self.by_key if k.startswith(prefix)]


# The rules compare a fact's numbers (`Fact.numbers`, `Fact.subject`, `Fact.value`). A fact without numbers (one
# written by hand, or by an older gather stage) is read from its sentence instead: the fallbacks below.


def _peak(fact: Fact | None) -> float | None:
    """A metric fact's peak (its measured value)."""
    if fact is None:
        return None
    if fact.numbers is not None:
        return fact.numbers.value
    match = _PEAK.search(fact.text)
    return float(match.group("peak").replace(",", "")) if match else None


def _rose(fact: Fact) -> bool:
    """Whether the value is at or above its baseline by a known percentage (the sentence's "+N%")."""
    if fact.numbers is not None:
        return fact.numbers.change_pct is not None and fact.numbers.change_pct >= 0
    return "+" in fact.text


def _not_crossed(fact: Fact) -> bool:
    """Whether the alarm's metric stayed on the safe side of its threshold in the window read."""
    if fact.numbers is not None:
        return fact.numbers.crossed is False
    return "not crossed" in fact.text


def _subject(fact: Fact, pattern: re.Pattern[str], group: str) -> str | None:
    """What the fact is about (a function, a service, a usage type)."""
    if fact.subject:
        return fact.subject
    match = pattern.match(fact.text)
    return match.group(group) if match else None


def _instance_label(instance: Fact) -> str:
    return instance.subject or instance.text.split(":", 1)[0].replace("EC2 ", "")


def _alarm(alert: Alert) -> CloudWatchAlarmDetails:
    """The alarm's details; empty ones (every field None) for an alert of another source."""
    return alert.details_of(CloudWatchAlarmDetails) or CloudWatchAlarmDetails()


def _metric_peak(facts: Facts, alert: Alert, metric: str) -> float | None:
    """The peak of `metric`: the alarm's own metric fact when the alarm watches it, else the related metric."""
    if _alarm(alert).metric_name == metric:
        return _peak(facts.get("compute.alarm_metric"))
    return _peak(facts.get(f"compute.metric.{metric}"))


def _clean(text: str) -> str:
    return text.rstrip(". ")


@dataclass
class Finding:
    root_cause: str
    confidence: Confidence
    evidence_keys: list[str] = field(default_factory=list)
    recommendations: list[str] = field(default_factory=list)
    diagnostics: list[BuiltCommand] = field(default_factory=list)


Detector = Callable[[Alert, Facts], Finding | None]


def _resource_name(alert: Alert) -> str:
    return alert.resource.name if alert.resource and alert.resource.name else "the affected resource"


def _region(alert: Alert) -> str:
    return alert.region or (alert.resource.region if alert.resource and alert.resource.region else None) or "us-east-1"


# --- Diagnostics (built, never pasted together) ----------------------------------------------------------------

LOG_WINDOW_BEFORE = timedelta(hours=1)
LOG_WINDOW_AFTER = timedelta(minutes=15)
COST_WINDOW_DAYS = 14
_LOG_ERROR_PATTERN = '?ERROR ?Exception ?"Task timed out"'


def _in_region(alert: Alert, service: str, operation: str, *options: Opt, max_items: int | None = None) -> BuiltCommand:
    return build_command(service, operation, *options, region=_region(alert), max_items=max_items)


def _function(name: str) -> Opt:
    return opt("--function-name", name, ValueKind.LAMBDA_FUNCTION)


def _target(alert: Alert, kind: ResourceKind) -> str | None:
    """The alert's resource of the registered type `kind`, else the alarm's dimension naming one, else None."""
    spec = resource_type(kind)
    resource = alert.resource
    if resource and resource.type == spec.cfn_type and resource.name:
        return resource.name
    dimensions = _alarm(alert).dimensions or {}
    return next((dimensions[d] for d in spec.dimensions if dimensions.get(d)), None)


def _instance_id(alert: Alert) -> str | None:
    return _target(alert, "ec2")


def _function_name(alert: Alert) -> str | None:
    return _target(alert, "lambda")


def _log_group(function_name: str) -> str:
    """The function's log group: `/aws/lambda/<name>`, from a name, `name:qualifier` or ARN."""
    base = function_name.split(":function:", 1)[-1] if function_name.startswith("arn:") else function_name
    return "/aws/lambda/" + base.split(":", 1)[0]


def _when(alert: Alert, now: datetime | None) -> datetime | None:
    """The moment the diagnostics look around: when the alert happened, else when the analysis runs."""
    moment = alert.occurred_at or now
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _log_summary(facts: Facts) -> str | None:
    top = facts.get("logs.pattern.1")
    if top is None:  # any other log fact that is not the error count
        top = next((facts.get(k) for k in facts.keys("logs.") if k != "logs.error_count"), None)
    if top is None:
        return None
    return f"the logs show {_clean(top.text)}"


_TIMEOUT = re.compile(r"timeout (?P<seconds>\d+) s")


def _hits_timeout(facts: Facts) -> str | None:
    """ "invocations run into the function's 30 s timeout" when Duration peaks at the configured timeout."""
    config = facts.get("compute.lambda_config")
    seconds: float | None = None
    if config is not None and config.numbers is not None:
        seconds = config.numbers.value
    elif config is not None and (match := _TIMEOUT.search(config.text)):
        seconds = float(match.group("seconds"))
    duration = _peak(facts.get("compute.metric.Duration"))
    if seconds is None or duration is None:
        return None
    if duration < seconds * 1000 * 0.95:
        return None
    return f"invocations run into the function's {seconds:g} s timeout (Duration peak {duration:,.0f} ms)"


def _log_errors(facts: Facts) -> float | None:
    return facts.number("logs.error_count")


# --- Cost ------------------------------------------------------------------------------------------------------


def _cost_anomaly(alert: Alert, facts: Facts) -> Finding | None:
    cause = facts.get("cost.anomaly_root_cause.1")
    if cause is None:
        return None
    text = _clean(cause.text.replace("Anomaly root cause 1: ", ""))
    sentence = f"Cost anomaly driven by {text}"
    mover = facts.get("cost.top_usage_type") or facts.get("cost.top_mover")
    if mover is not None:
        sentence += f"; Cost Explorer confirms it: {_clean(mover.text)}"
    return Finding(
        root_cause=sentence + ".",
        confidence="high",
        evidence_keys=["cost.anomaly_root_cause.1", "cost.anomaly_impact", "cost.top_usage_type", "cost.top_mover"],
        recommendations=[
            "Find what started calling this service on the anomaly's start date (a new job, client or loop).",
            "If the usage is not expected, stop its source, then set a budget or anomaly alert at a tighter threshold.",
        ],
    )


def _lambda_storm_cost(alert: Alert, facts: Facts) -> Finding | None:
    mover = facts.get("compute.lambda_mover")
    if mover is None:
        return None
    function = _subject(mover, _LAMBDA_MOVER, "name")
    name = function or "a Lambda function"
    cost = facts.get("cost.top_mover")
    lambda_cost = cost is not None and "Lambda" in (_subject(cost, _COST_MOVER, "label") or "")
    sentence = f"Invocation storm on Lambda {name}: {_clean(mover.text.split(': ', 1)[-1])}"
    if cost is not None and lambda_cost:
        sentence += f", driving {_clean(cost.text.replace('Top mover ', ''))}"
    logs = _log_summary(facts)
    if logs:
        sentence += f"; {logs}"
    return Finding(
        root_cause=sentence + ".",
        confidence="high" if lambda_cost else "medium",
        evidence_keys=["compute.lambda_mover", "cost.top_mover", "cost.top_usage_type", "logs.pattern.1"],
        recommendations=[
            f"Find what invokes {name} (event source mappings, S3/SNS triggers, a caller in a retry loop); a function "
            "that writes to the bucket or queue that triggers it re-invokes itself.",
            f"Cap {name} with reserved concurrency while you fix the trigger, so the bill stops growing.",
        ],
        diagnostics=[
            _in_region(alert, "lambda", "list-event-source-mappings", _function(name)),
            _in_region(alert, "lambda", "get-policy", _function(name)),
        ]
        if function
        else [],
    )


def _cost_mover(alert: Alert, facts: Facts) -> Finding | None:
    mover = facts.get("cost.top_mover")
    if mover is None:
        return None
    usage = facts.get("cost.top_usage_type")
    service = _subject(mover, _COST_MOVER, "label") or "the top service"
    budget = alert.details_of(BudgetDetails)
    forecast = alert.alert_type == "budget_forecast" or (
        budget is not None and budget.notification_type == "FORECASTED"
    )
    if forecast:
        sentence = f"The month-end forecast is over budget because {service} spend rose"
    else:
        sentence = f"Spend is driven by {service}"
    sentence += f": {_clean(mover.text.split(': ', 1)[-1])}"
    if usage is not None:
        usage_type = usage.subject or (_subject(usage, _COST_MOVER, "label") or "").split(" / ")[-1]
        usage_label = usage_type or "its top usage type"
        sentence += f"; usage type {usage_label} accounts for the change"
    launches = facts.get("compute.recent_launches")
    if launches is not None and "Elastic Compute" in service:
        sentence += f"; new capacity: {_clean(launches.text)}"
    if forecast and facts.get("cost.forecast") is not None:
        sentence += f" ({_clean(facts.get('cost.forecast').text)})"  # type: ignore[union-attr]
    return Finding(
        root_cause=sentence + ".",
        confidence="medium",
        evidence_keys=[
            "cost.top_mover",
            "cost.top_usage_type",
            "compute.recent_launches",
            "cost.forecast",
            "cost.month_to_date",
        ],
        recommendations=[
            f"Open {service} in Cost Explorer grouped by usage type and resource to find what changed.",
            "If the growth is expected (a launch, more traffic), raise the budget; otherwise remove or right-size the "
            "resources behind it.",
        ],
    )


# --- CloudWatch alarms -----------------------------------------------------------------------------------------


def _false_alarm(alert: Alert, facts: Facts) -> Finding | None:
    metric_fact = facts.get("compute.alarm_metric")
    reason = _alarm(alert).state_reason or ""
    missing_data = bool(_MISSING_DATA_BREACHING.search(reason))
    not_crossed = metric_fact is not None and _not_crossed(metric_fact)
    errors = _log_errors(facts)
    if not (missing_data or not_crossed):
        return None
    if errors:  # errors in the logs: something is wrong after all
        return None
    if not missing_data and _reason_shows_breach(reason):
        # The alarm itself saw breaching datapoints that our window does not: a short spike, not a false alarm.
        return None
    if facts.get("compute.recent_change") is not None and not missing_data:
        return None
    metric = _alarm(alert).metric_name or "the alarm's metric"
    name = _resource_name(alert)
    parts = [f"No sign of a problem on {name}"]
    if metric_fact is not None:
        parts.append(f"{metric} stayed at its normal level ({_clean(metric_fact.text.replace('Alarm metric ', ''))})")
    if errors == 0:
        parts.append("the logs show no errors")
    cause = (
        "the alarm fired because missing datapoints are treated as breaching"
        if missing_data
        else "the threshold was not crossed in the data"
    )
    sentence = "; ".join(parts) + f". This is a false alarm: {cause}."
    return Finding(
        root_cause=sentence,
        confidence="high" if errors == 0 else "medium",
        evidence_keys=["compute.alarm_metric", "logs.error_count", "compute.metric.Invocations"],
        recommendations=[
            "No action is needed on the resource.",
            "Fix the alarm: set TreatMissingData to notBreaching for metrics that are only emitted when the "
            "function runs, or match the period to the schedule.",
        ],
    )


_REASON_DATAPOINTS = re.compile(r"datapoints? \[(?P<points>[^\]]*)\] (?:was|were) (?P<verdict>not )?", re.IGNORECASE)


def _reason_shows_breach(reason: str) -> bool:
    """Whether CloudWatch's own state reason reports datapoints that crossed the threshold."""
    match = _REASON_DATAPOINTS.search(reason)
    return bool(match and match.group("points").strip() and not match.group("verdict"))


def _throttled_at_limit(alert: Alert, facts: Facts) -> Finding | None:
    throttles = _metric_peak(facts, alert, "Throttles")
    if not throttles:
        return None
    name = _resource_name(alert)
    reserved = facts.number("compute.reserved_concurrency")
    concurrency = _metric_peak(facts, alert, "ConcurrentExecutions")
    invocations = facts.get("compute.metric.Invocations")
    if reserved is not None:
        sentence = f"{name} is throttled at its reserved concurrency limit of {int(reserved)}"
        if concurrency is not None:
            sentence += f": ConcurrentExecutions peaked at {concurrency:g}"
    else:
        sentence = f"{name} is throttled: it hit the account's concurrency limit (no reserved concurrency is set)"
    if invocations is not None and _rose(invocations):
        sentence += f" while traffic rose ({_clean(invocations.text)})"
    sentence += f"; {throttles:,.0f} throttles at the peak"
    return Finding(
        root_cause=sentence + ".",
        confidence="high"
        if reserved is not None and concurrency is not None and concurrency >= reserved * 0.95
        else "medium",
        evidence_keys=[
            "compute.alarm_metric",
            "compute.reserved_concurrency",
            "compute.metric.ConcurrentExecutions",
            "compute.metric.Invocations",
        ],
        recommendations=[
            f"Raise {name}'s reserved concurrency (or remove it) if the extra traffic is legitimate.",
            "If it is not, find the caller behind the surge; throttled asynchronous events are retried, so the "
            "backlog drains once concurrency allows.",
        ],
        diagnostics=_throttle_diagnostics(alert),
    )


def _throttle_diagnostics(alert: Alert) -> list[BuiltCommand]:
    name = _function_name(alert)
    if name is None:
        return []
    return [
        _in_region(alert, "lambda", "get-function-concurrency", _function(name)),
        _in_region(alert, "lambda", "get-account-settings"),
    ]


def _errors_after_change(alert: Alert, facts: Facts) -> Finding | None:
    change = facts.get("compute.recent_change")
    errors_peak = _metric_peak(facts, alert, "Errors")
    log_errors = _log_errors(facts)
    if change is None or not (errors_peak or log_errors):
        return None
    name = _resource_name(alert)
    minutes = facts.number("compute.recent_change")
    when = f"{int(minutes)} min ago" if minutes is not None else "recently"
    sentence = f"{name} started failing after a deploy (code/configuration updated {when})"
    metric_fact = facts.get("compute.alarm_metric") or facts.get("compute.metric.Errors")
    if metric_fact is not None:
        sentence += f": {_clean(metric_fact.text.replace('Alarm metric ', ''))}"
    logs = _log_summary(facts)
    if logs:
        sentence += f"; {logs}"
    return Finding(
        root_cause=sentence + ".",
        confidence="high" if logs else "medium",
        evidence_keys=["compute.recent_change", "compute.alarm_metric", "logs.pattern.1", "logs.error_count"],
        recommendations=[
            f"Roll {name} back to the previous version (or alias) now, then fix forward.",
            "Compare the new version's configuration and environment with the previous one.",
        ],
        # The builder adds a --query that leaves each version's environment variables out.
        diagnostics=[
            _in_region(alert, "lambda", "list-versions-by-function", _function(fn))
            for fn in filter(None, [_function_name(alert)])
        ],
    )


def _invocation_spike(alert: Alert, facts: Facts) -> Finding | None:
    if _alarm(alert).metric_name != "Invocations":
        return None
    metric_fact = facts.get("compute.alarm_metric")
    ratio = facts.number("compute.alarm_metric")
    if metric_fact is None or (ratio is not None and ratio < 2):
        return None
    name = _resource_name(alert)
    sentence = f"Invocation storm on {name}: {_clean(metric_fact.text.replace('Alarm metric ', ''))}"
    logs = _log_summary(facts)
    if logs:
        sentence += f"; {logs}"
    return Finding(
        root_cause=sentence + ".",
        confidence="medium",
        evidence_keys=["compute.alarm_metric", "compute.metric.Errors", "logs.pattern.1"],
        recommendations=[f"Find what invokes {name} and whether it is retrying or re-triggering itself."],
    )


def _cpu_saturation(alert: Alert, facts: Facts) -> Finding | None:
    peak = _metric_peak(facts, alert, "CPUUtilization")
    if _alarm(alert).metric_name != "CPUUtilization" or peak is None or peak < 85:
        return None
    instance = facts.get("compute.instance")
    label = _instance_label(instance) if instance else _resource_name(alert)
    metric_fact = facts.get("compute.alarm_metric")
    sentence = f"CPU saturation on {label}: " + _clean(
        (metric_fact.text if metric_fact else "").replace("Alarm metric ", "")
    )
    network = facts.get("compute.metric.NetworkIn")
    if network is not None and _rose(network):
        sentence += (
            f"; inbound traffic rose with it ({_clean(network.text)}), so load, not a runaway process, drives it"
        )
    return Finding(
        root_cause=sentence + ".",
        confidence="medium",
        evidence_keys=["compute.alarm_metric", "compute.metric.NetworkIn", "compute.instance"],
        recommendations=[
            "Scale out (or up) if the traffic is legitimate; check the top processes on the instance if it is not.",
            "Put the instance behind an Auto Scaling group with a CPU target so the next surge scales by itself.",
        ],
        diagnostics=[
            _in_region(alert, "ec2", "describe-instance-status", opt("--instance-ids", [i], ValueKind.EC2_INSTANCE))
            for i in filter(None, [_instance_id(alert)])
        ],
    )


def _status_check(alert: Alert, facts: Facts) -> Finding | None:
    metric = _alarm(alert).metric_name or ""
    if not metric.startswith("StatusCheckFailed"):
        return None
    peak = _metric_peak(facts, alert, metric)
    if peak is not None and peak < 1:
        return None
    instance = facts.get("compute.instance")
    label = _instance_label(instance) if instance else _resource_name(alert)
    if metric == "StatusCheckFailed_System":
        sentence = (
            f"The system status check failed on {label}: the underlying AWS host (hardware, network or power) has "
            "a problem, not the instance's software"
        )
        action = "Stop and start the instance (not reboot) to move it to healthy hardware; AWS may also retire it."
    elif metric == "StatusCheckFailed_Instance":
        sentence = (
            f"The instance status check failed on {label}: the instance itself is impaired (OS, kernel, memory "
            "exhaustion or a full disk)"
        )
        action = "Read the system log and reboot the instance; fix the OS-level cause before it recurs."
    else:
        sentence = f"A status check failed on {label}"
        action = "Check which status check fails (system or instance) and act on that."
    cpu = facts.get("compute.metric.CPUUtilization")
    if cpu is not None and (cpu.numbers.latest is not None if cpu.numbers else "now" in cpu.text):
        sentence += f"; {_clean(cpu.text)}"
    return Finding(
        root_cause=sentence + ".",
        confidence="high",
        evidence_keys=["compute.alarm_metric", "compute.metric.CPUUtilization", "compute.instance"],
        recommendations=[action, "Use an Auto Scaling group or EC2 auto-recovery so a failed host replaces itself."],
        diagnostics=_status_check_diagnostics(alert),
    )


def _status_check_diagnostics(alert: Alert) -> list[BuiltCommand]:
    instance = _instance_id(alert)
    if instance is None:
        return []
    return [
        _in_region(
            alert,
            "ec2",
            "describe-instance-status",
            opt("--instance-ids", [instance], ValueKind.EC2_INSTANCE),
            flag("--include-all-instances"),
        ),
        _in_region(alert, "ec2", "get-console-output", opt("--instance-id", instance, ValueKind.EC2_INSTANCE)),
    ]


def _errors_with_logs(alert: Alert, facts: Facts) -> Finding | None:
    logs = _log_summary(facts)
    if logs is None:
        return None
    metric = _alarm(alert).metric_name or alert.alert_type
    timeout = _hits_timeout(facts)
    return Finding(
        root_cause=f"{metric} on {_resource_name(alert)} breached its threshold; {logs}"
        + (f"; {timeout}." if timeout else "."),
        confidence="medium",
        evidence_keys=["compute.alarm_metric", "logs.pattern.1", "logs.error_count"],
        recommendations=["Fix the error the logs point at; the most frequent pattern is listed first."],
    )


def _alarm_fallback(alert: Alert, facts: Facts) -> Finding:
    metric = _alarm(alert).metric_name or alert.alert_type
    metric_fact = facts.get("compute.alarm_metric")
    sentence = f"{metric} on {_resource_name(alert)} breached its threshold"
    if metric_fact is not None:
        sentence += f": {_clean(metric_fact.text.replace('Alarm metric ', ''))}"
    return Finding(
        root_cause=sentence + "; the gathered context does not show why.",
        confidence="low",
        evidence_keys=["compute.alarm_metric"],
        recommendations=[
            "Check whether a recent deploy or configuration change lines up with the breach.",
            "Look at the resource's logs around the breach for the failing request path.",
        ],
    )


# --- Queues, tables, memory (the interpreters' structured facts) -----------------------------------------------


def _after_colon(fact: Fact) -> str:
    return _clean(fact.text.split(": ", 1)[-1])


def _neighbour_text(fact: Fact) -> str:
    """A neighbour's fact as a clause (its text already starts with the neighbour's name)."""
    return _clean(fact.text.replace("Alarm metric ", ""))


def _sqs_queue_arn(alert: Alert, name: str) -> str | None:
    if not alert.account_id:
        return None
    return f"arn:aws:sqs:{_region(alert)}:{alert.account_id}:{name}"


def _queue_commands(alert: Alert, name: str) -> list[BuiltCommand]:
    """The queue's URL (its attributes need it) and its event source mappings (its consumers' state)."""
    commands = [_in_region(alert, "sqs", "get-queue-url", opt("--queue-name", name))]
    arn = _sqs_queue_arn(alert, name)
    if arn:
        commands.append(
            _in_region(alert, "lambda", "list-event-source-mappings", opt("--event-source-arn", arn, ValueKind.ARN))
        )
    return commands


def _consumer_errors(facts: Facts) -> Fact | None:
    errors = facts.get("compute.metric.Errors")
    if errors is not None and (_peak(errors) or 0) > 0:
        return errors
    return None


def _queue_consumer_stall(alert: Alert, facts: Facts) -> Finding | None:
    stall = facts.get("compute.queue_stall")
    if stall is None:
        return None
    queue = stall.subject or _resource_name(alert)
    consumer_fact = facts.get("compute.queue_consumer")
    consumer = str(consumer_fact.value) if consumer_fact is not None and consumer_fact.value else None
    sentence = f"The consumer of SQS queue {queue} has stalled: {_after_colon(stall)}"
    errors = _consumer_errors(facts)
    if errors is not None:
        sentence += f"; {_neighbour_text(errors)}"
    oom = facts.get("compute.out_of_memory")
    if oom is not None:
        sentence += f"; {_clean(oom.text)}"
    change = facts.get("compute.recent_change")
    if change is not None:
        sentence += f"; {_clean(change.text)}"
    logs = _log_summary(facts)
    if logs:
        sentence += f"; {logs}"
    dlq = facts.get("compute.dead_letter_queue")
    if dlq is not None and (facts.number("compute.dead_letter_queue") or 0) > 0:
        sentence += f"; {_clean(dlq.text)}"
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
        diagnostics.append(_recent_errors(alert, _log_group(consumer), _when(alert, None)))
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


def _dead_letter_arrivals(alert: Alert, facts: Facts) -> Finding | None:
    """Messages arrive in a dead-letter queue: the failure is its source queue's consumer, not the DLQ."""
    arrivals = facts.get("compute.dead_letter_sources")
    if arrivals is None or arrivals.via is not None or not (arrivals.numbers and arrivals.numbers.value):
        return None
    dlq = arrivals.subject or _resource_name(alert)
    source = str(arrivals.value or "its source queue")
    consumer_fact = facts.get("compute.queue_consumer")
    consumer = str(consumer_fact.value) if consumer_fact is not None and consumer_fact.value else None
    who = f"Lambda {consumer}" if consumer else "the consumer"
    sentence = f"Messages from SQS queue {source} are failing: {_clean(arrivals.text)}"
    if consumer_fact is not None:
        sentence += f"; {_clean(consumer_fact.text)}"
    errors = _consumer_errors(facts)
    if errors is not None:
        sentence += f"; {_neighbour_text(errors)}"
    for key in ("compute.out_of_memory", "compute.recent_change"):
        found = facts.get(key)
        if found is not None:
            sentence += f"; {_clean(found.text)}"
    logs = _log_summary(facts)
    if logs:
        sentence += f"; {logs}"
    diagnostics = _queue_commands(alert, dlq)
    if consumer and not kind_problem(consumer, ValueKind.LAMBDA_FUNCTION):
        diagnostics.append(_recent_errors(alert, _log_group(consumer), _when(alert, None)))
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


def _queue_backlog(alert: Alert, facts: Facts) -> Finding | None:
    backlog = facts.get("compute.queue_backlog")
    if backlog is None:
        return None
    queue = backlog.subject or _resource_name(alert)
    consumer_fact = facts.get("compute.queue_consumer")
    consumer = str(consumer_fact.value) if consumer_fact is not None and consumer_fact.value else None
    who = f"Lambda {consumer}" if consumer else "the consumer"
    errors = _consumer_errors(facts)
    reserved = facts.number("compute.reserved_concurrency")
    concurrency = _peak(facts.get("compute.metric.ConcurrentExecutions"))
    throttles = _peak(facts.get("compute.metric.Throttles"))
    sentence = f"SQS queue {queue} is backing up: {_after_colon(backlog)}"
    if errors is not None:
        sentence += f"; {who} also fails ({_neighbour_text(errors)})"
    else:
        sentence += f"; {who} is healthy (no errors) but lacks throughput"
    if reserved is not None:
        sentence += f": it is capped at a reserved concurrency of {int(reserved)}"
        if concurrency is not None:
            sentence += f" (ConcurrentExecutions peaked at {concurrency:g})"
    if throttles:
        sentence += f"; {throttles:,.0f} throttles at the peak"
    if consumer_fact is not None:
        sentence += f"; {_clean(consumer_fact.text)}"
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
        diagnostics.append(_in_region(alert, "lambda", "get-function-concurrency", _function(consumer)))
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


def _dynamodb_throttling(alert: Alert, facts: Facts) -> Finding | None:
    throttling = facts.get("compute.dynamodb_throttling")
    if throttling is None:
        return None
    table = throttling.subject or _resource_name(alert)
    mechanism = str(throttling.value or "unknown")
    logs = _log_summary(facts)
    # A table next to the failing resource throttles, but nothing ties its errors to the table: another cause.
    unrelated = throttling.via is not None and not (logs and _THROTTLED_CALL.search(logs))
    if unrelated and (facts.get("compute.recent_change") is not None or mechanism != "at_capacity"):
        return None
    sentence = f"DynamoDB table {table} is throttling: {_clean(throttling.text)}"
    if throttling.via is not None:
        sentence = f"{_resource_name(alert)} fails because its {throttling.via.split(' named in ')[0]} throttles: "
        sentence += _clean(throttling.text)
    if logs:
        sentence += f"; {logs}"
    config = facts.get("compute.table_config")
    if config is not None:
        sentence += f"; {_clean(config.text)}"
    if mechanism == "hot_key":
        recommendations = [
            f"Find the hot partition key on {table} (CloudWatch Contributor Insights for DynamoDB) and spread its "
            "writes (shard the key); more table capacity does not fix one hot partition.",
        ]
    elif mechanism == "on_demand":
        recommendations = [
            f"{table} is on-demand: it throttles past double its previous peak or on a hot key. Spread the key, or "
            "switch to provisioned capacity sized for the event before the next one.",
        ]
    else:
        recommendations = [
            f"Raise {table}'s provisioned capacity (or auto scaling's maximum) now, or switch it to on-demand "
            "(PAY_PER_REQUEST) if the traffic is spiky: this is capacity, not a code fix.",
            "If one key takes most of the traffic, spread it (Contributor Insights shows the hot keys).",
        ]
    recommendations.append("Callers should retry throttled requests with exponential backoff (the SDKs do).")
    return Finding(
        root_cause=sentence + ".",
        confidence="high" if mechanism in ("at_capacity", "hot_key") else "medium",
        evidence_keys=["compute.dynamodb_throttling", "compute.table_config", "logs.pattern.1", "compute.alarm_metric"],
        recommendations=recommendations,
        diagnostics=[_in_region(alert, "dynamodb", "describe-table", opt("--table-name", table))],
    )


_OOM_PATTERN = '"Runtime.OutOfMemory"'
_THROTTLED_CALL = re.compile(r"ProvisionedThroughputExceeded|ThrottlingException|RequestLimitExceeded|throttl", re.I)


def _lambda_out_of_memory(alert: Alert, facts: Facts) -> Finding | None:
    oom = facts.get("compute.out_of_memory")
    if oom is None:
        return None
    function = oom.subject or _resource_name(alert)
    size = oom.numbers.threshold if oom.numbers is not None else None
    sentence = _clean(oom.text)
    if oom.via is not None:
        sentence = f"{_resource_name(alert)}'s {oom.via.split(' (')[0]} fails: {sentence}"
    change = facts.get("compute.recent_change")
    if change is not None:
        sentence += f"; {_clean(change.text)}"
    logs = _log_summary(facts)
    if logs:
        sentence += f"; {logs}"
    memory = f"{size:g} MB" if size is not None else "its current setting"
    diagnostics = []
    when = _when(alert, None)
    if not kind_problem(function, ValueKind.LAMBDA_FUNCTION) and when is not None:
        diagnostics.append(
            _in_region(
                alert,
                "logs",
                "filter-log-events",
                opt("--log-group-name", _log_group(function), ValueKind.LOG_GROUP),
                opt("--start-time", _epoch_ms(when - LOG_WINDOW_BEFORE), ValueKind.EPOCH_MS),
                opt("--end-time", _epoch_ms(when + LOG_WINDOW_AFTER), ValueKind.EPOCH_MS),
                opt("--filter-pattern", _OOM_PATTERN, ValueKind.PATTERN),
                max_items=20,
            )
        )
    return Finding(
        root_cause=sentence + ".",
        confidence="high",
        evidence_keys=["compute.out_of_memory", "compute.lambda_config", "logs.pattern.1", "compute.recent_change"],
        recommendations=[
            f"Raise {function}'s memory above {memory} (e.g. double it) to stop the failures now; more memory also "
            "brings more CPU.",
            "Then find what grew: larger inputs or payloads, or a leak across invocations (objects kept at module "
            "level, caches without a bound).",
        ],
        diagnostics=diagnostics,
    )


# --- Health, security, custom ----------------------------------------------------------------------------------


def _health(alert: Alert, facts: Facts) -> Finding:
    event = alert.details_of(HealthDetails) or HealthDetails()
    code = event.event_type_code or alert.alert_type
    readable = code.replace("AWS_", "", 1).replace("_", " ").lower()
    name = _resource_name(alert)
    instance = facts.get("compute.instance")
    label = _instance_label(instance) if instance else name
    start = event.start_time
    sentence = f"AWS Health: {readable} for {label}"
    if start:
        sentence += f", starting {start}"
    if "RETIREMENT" in code:
        sentence += " — the instance will be retired because its underlying hardware is degraded"
    if instance is not None and (instance.value == "running" if instance.value else "running" in instance.text):
        sentence += "; it is still running now"
    recommendations = (
        [
            "Stop and start the instance before the retirement date to move it to healthy hardware (EBS-backed), or "
            "replace it; instance-store data is lost.",
        ]
        if "RETIREMENT" in code
        else ["Follow the event's recommended action before its start time."]
    )
    return Finding(
        root_cause=sentence + ".",
        confidence="high",
        evidence_keys=["health.event", "health.affected_entities", "compute.instance"],
        recommendations=recommendations,
        # The Health API answers in us-east-1 whatever region the event is about.
        diagnostics=[
            build_command(
                "health",
                "describe-event-details",
                opt("--event-arns", [event.event_arn], ValueKind.ARN),
                region="us-east-1",
            )
        ]
        if event.event_arn
        else [],
    )


def _security(alert: Alert, facts: Facts) -> Finding:
    name = _resource_name(alert)
    similar = facts.get("security.similar_findings")
    if (guardduty := alert.details_of(GuardDutyDetails)) is not None:
        kind = guardduty.finding_type or alert.alert_type
        sentence = f"GuardDuty {kind} on {name}: {_clean(alert.summary or alert.title)}"
        recommendations = [
            f"Close the exposed port on {name} (restrict its security group to known addresses) or put it behind a "
            "bastion/SSM Session Manager.",
            "Check the instance for signs of compromise if the probed service accepts logins.",
        ]
    else:
        hub = alert.details_of(SecurityHubDetails) or SecurityHubDetails()
        control = hub.security_control_id or alert.alert_type
        sentence = f"Security Hub control {control} failed on {name}: {_clean(alert.title.split(': ', 1)[-1])}"
        recommendations = [
            "Apply the control's remediation to the resource, then let Security Hub re-evaluate it.",
        ]
    if similar is not None:
        sentence += f"; {_clean(similar.text)}"
        if (facts.number("security.similar_findings") or 0) > 1:
            recommendations.append("Fix the other resources with the same finding as well: it is a pattern.")
    return Finding(
        root_cause=sentence + ".",
        confidence="medium",
        evidence_keys=["security.finding", "security.similar_findings", "compute.instance", "security.remediation"],
        recommendations=recommendations,
    )


def _custom(alert: Alert, facts: Facts) -> Finding:
    sentence = f"The application reported an error: {_clean(alert.summary or alert.title)}"
    change = facts.get("compute.recent_change")
    if change is not None:
        sentence += f"; {_clean(change.text)}"
    timeout = _hits_timeout(facts)
    if timeout:
        sentence += f"; {timeout}"
    logs = _log_summary(facts)
    if logs:
        sentence += f"; {logs}"
    return Finding(
        root_cause=sentence + ".",
        confidence="medium" if logs or change else "low",
        evidence_keys=["logs.pattern.1", "compute.recent_change", "logs.error_count"],
    )


def _cost_top_service(alert: Alert, facts: Facts) -> Finding | None:
    top = facts.get("cost.top_service")
    if top is None:
        return None
    return Finding(
        root_cause=f"Spend is driven by {_clean(top.text)}.",
        confidence="low",
        evidence_keys=["cost.top_service"],
        recommendations=["Open the top service in Cost Explorer grouped by usage type to find what changed."],
    )


def _alarm_no_longer_firing(alert: Alert, facts: Facts) -> Finding | None:
    if alert.severity != "info" and (_alarm(alert).state or "ALARM").upper() == "ALARM":
        return None
    metric = _alarm(alert).metric_name or alert.alert_type
    return Finding(
        root_cause=f"The alarm on {metric} for {_resource_name(alert)} is no longer in ALARM; no action is needed.",
        confidence="high",
    )


def _cost_fallback(alert: Alert, facts: Facts) -> Finding:
    return Finding(
        root_cause="Spend crossed the budget threshold; the cost context did not identify a driver.",
        confidence="low",
    )


def _unclassified(alert: Alert, facts: Facts) -> Finding:
    return Finding(root_cause="The alert could not be classified; its raw text is shown below.", confidence="low")


# Per source (`functions.shared.registry`, `rules`): the detectors, most specific first; the first finding wins.
RULES: dict[str, tuple[Detector, ...]] = {
    "cost": (_cost_anomaly, _lambda_storm_cost, _cost_mover, _cost_top_service),
    "alarm": (
        _alarm_no_longer_firing,
        _false_alarm,
        _status_check,
        _queue_consumer_stall,
        _dead_letter_arrivals,
        _queue_backlog,
        _dynamodb_throttling,
        _lambda_out_of_memory,
        _throttled_at_limit,
        _errors_after_change,
        _invocation_spike,
        _cpu_saturation,
        _errors_with_logs,
    ),
    "none": (),
}
# Per source (`next_steps`): the finding, with its next steps, when no detector fired.
NEXT_STEPS: dict[str, Callable[[Alert, Facts], Finding]] = {
    "cost": _cost_fallback,
    "alarm": _alarm_fallback,
    "security": _security,
    "health": _health,
    "custom": _custom,
    "unclassified": _unclassified,
}


def _finding(alert: Alert, facts: Facts) -> Finding:
    spec = source_spec(alert.source)
    for detect in RULES[spec.rules]:
        found = detect(alert, facts)
        if found is not None:
            return found
    return NEXT_STEPS[spec.next_steps](alert, facts)


# --- Assembling the analysis -----------------------------------------------------------------------------------


def _evidence(finding: Finding, facts: Facts, context: GatheredContext, limit: int = 8) -> list[EvidenceClaim]:
    claims = [c for c in (facts.claim(k) for k in finding.evidence_keys) if c is not None]
    seen = {c.claim for c in claims}
    for section in context.sections():
        if section.status != "ok":
            continue
        for fact in section.facts[:4]:
            if fact.text not in seen:
                claims.append(EvidenceClaim(claim=fact.text, section=section.name, link=fact.link))
                seen.add(fact.text)
    return claims[:limit]


def _unknowns(context: GatheredContext) -> list[str]:
    missing = []
    for name in ("cost", "compute", "logs"):
        section = getattr(context, name)
        if section is None:
            missing.append(f"No {name} context was gathered.")
        elif section.status == "error":
            missing.append(f"The {name} context could not be gathered: {section.error or 'unknown error'}.")
    return missing


def _cost_diagnostics(alert: Alert, when: datetime | None, resources: list[BuiltCommand]) -> list[BuiltCommand]:
    """The bill by service and usage type over the cost window, the account's budgets; then the resources'."""
    commands: list[BuiltCommand] = []
    if when is not None:
        start = when.date() - timedelta(days=COST_WINDOW_DAYS)
        end = when.date() + timedelta(days=1)  # Cost Explorer's End is exclusive: include the alert's day
        commands.append(
            build_command(
                "ce",
                "get-cost-and-usage",
                opt("--time-period", f"Start={start.isoformat()},End={end.isoformat()}", ValueKind.SHORTHAND),
                opt("--granularity", "DAILY"),
                opt("--metrics", ["UnblendedCost"]),
                opt(
                    "--group-by",
                    ["Type=DIMENSION,Key=SERVICE", "Type=DIMENSION,Key=USAGE_TYPE"],
                    ValueKind.SHORTHAND,
                ),
            )
        )
    if alert.account_id:
        commands.append(
            build_command("budgets", "describe-budgets", opt("--account-id", alert.account_id, ValueKind.ACCOUNT_ID))
        )
    return commands + resources


def _alarm_diagnostics(alert: Alert, when: datetime | None, resources: list[BuiltCommand]) -> list[BuiltCommand]:
    """The resources' commands, then the alarm's state history."""
    alarm_name = _alarm(alert).alarm_name
    if not alarm_name:
        return resources
    history = _in_region(
        alert,
        "cloudwatch",
        "describe-alarm-history",
        opt("--alarm-name", str(alarm_name), ValueKind.ALARM_NAME),
        opt("--history-item-type", "StateUpdate"),
        max_items=10,
    )
    return [*resources, history]


def _lambda_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    function = _function_name(alert)
    if function is None:
        return []
    # The builder adds a --query that leaves the function's environment variables (often secrets) out.
    commands = [_in_region(alert, "lambda", "get-function-configuration", _function(function))]
    if not kind_problem(function, ValueKind.LAMBDA_FUNCTION):
        commands.append(_recent_errors(alert, _log_group(function), when))
    return commands


def _ec2_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    instance = _instance_id(alert)
    if instance is None:
        return []
    return [
        _in_region(alert, "ec2", "describe-instance-status", opt("--instance-ids", [instance], ValueKind.EC2_INSTANCE))
    ]


def _sqs_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    queue = _target(alert, "sqs")
    return _queue_commands(alert, queue) if queue else []


def _dynamodb_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    table = _target(alert, "dynamodb")
    return [_in_region(alert, "dynamodb", "describe-table", opt("--table-name", table))] if table else []


# Per source (`functions.shared.registry`, `diagnostics`): its commands, placed around the resources' commands.
DIAGNOSTICS: dict[str, Callable[[Alert, datetime | None, list[BuiltCommand]], list[BuiltCommand]]] = {
    "cost": _cost_diagnostics,
    "alarm": _alarm_diagnostics,
    "none": lambda alert, when, resources: resources,
}
# Per resource type (`diagnostics`): the commands for the alert's resource of that type, if it names one.
RESOURCE_DIAGNOSTICS: dict[str, Callable[[Alert, datetime | None], list[BuiltCommand]]] = {
    "lambda_function": _lambda_diagnostics,
    "ec2_instance": _ec2_diagnostics,
    "sqs_queue": _sqs_diagnostics,
    "dynamodb_table": _dynamodb_diagnostics,
    "none": lambda alert, when: [],
}


def _diagnostics(alert: Alert, now: datetime | None) -> list[BuiltCommand]:
    """The commands every alert of its kind gets, whatever the detectors found."""
    when = _when(alert, now)
    resources = [command for spec in RESOURCE_TYPES for command in RESOURCE_DIAGNOSTICS[spec.diagnostics](alert, when)]
    return DIAGNOSTICS[source_spec(alert.source).diagnostics](alert, when, resources)


def _recent_errors(alert: Alert, log_group: str, when: datetime | None) -> BuiltCommand:
    """Error lines around the alert, between absolute times (portable: no `date -d`, no CLI v2-only `logs tail`)."""
    group = opt("--log-group-name", log_group, ValueKind.LOG_GROUP)
    if when is None:
        return _in_region(
            alert,
            "logs",
            "describe-log-streams",
            group,
            opt("--order-by", "LastEventTime"),
            flag("--descending"),
            max_items=5,
        )
    return _in_region(
        alert,
        "logs",
        "filter-log-events",
        group,
        opt("--start-time", _epoch_ms(when - LOG_WINDOW_BEFORE), ValueKind.EPOCH_MS),
        opt("--end-time", _epoch_ms(when + LOG_WINDOW_AFTER), ValueKind.EPOCH_MS),
        opt("--filter-pattern", _LOG_ERROR_PATTERN, ValueKind.PATTERN),
        max_items=50,
    )


def analyze_with_rules(alert: Alert, context: GatheredContext, *, now: datetime | None = None) -> AnalysisBody:
    """Analyse an alert from its own data and the gathered context. Never raises.

    `now` anchors the diagnostics' time windows when the alert carries no time of its own.
    """
    try:
        facts = Facts.of(context)
        finding = _finding(alert, facts)
    except Exception:  # the rules are the last resort: a surprise in the data must not lose the alert
        facts, finding = (
            Facts(),
            Finding(
                root_cause=f"{alert.title} (the rule-based analysis could not read the context).", confidence="low"
            ),
        )
    try:
        built = finding.diagnostics + _diagnostics(alert, now)
    except Exception:  # the commands are extras: a surprise in the alert must not lose the analysis
        built = []
    # One command per operation: a detector's specific form (e.g. with --include-all-instances) comes first.
    diagnostics: list[str] = []
    operations: set[tuple[str, ...]] = set()
    for command in built:
        if command.command and command.tokens[1:3] not in operations:
            operations.add(command.tokens[1:3])
            diagnostics.append(command.command)
    refused = list(dict.fromkeys(b.unknown for b in built if b.unknown))
    return AnalysisBody(
        root_cause=finding.root_cause,
        confidence=finding.confidence,
        evidence=_evidence(finding, facts, context),
        diagnostics=diagnostics[:6],
        recommendations=finding.recommendations[:4],
        unknowns=_unknowns(context) + refused,
    )
