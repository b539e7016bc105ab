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

from functions.analyze import resource_rules, rules_generic
from functions.shared.alert_details import (
    BudgetDetails,
    CloudWatchAlarmDetails,
    GuardDutyDetails,
    HealthDetails,
    SecurityHubDetails,
)
from functions.shared.aws_commands import BuiltCommand, Opt, ValueKind, build_command, flag, kind_problem, opt
from functions.shared.investigate.usage_mechanisms import Mechanism, anomaly_usage, mechanisms_for
from functions.shared.models import (
    Alert,
    AnalysisBody,
    Confidence,
    ContextSection,
    EvidenceClaim,
    Fact,
    GatheredContext,
    Verdict,
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
    # What the finding concludes: a detector that finds nothing wrong says "false_alarm" or "no_problem", so the
    # message is not posted as a page (functions/format reads this field, never the wording).
    verdict: Verdict = "problem"


Detector = Callable[[Alert, Facts], Finding | None]


def _resource_name(alert: Alert) -> str:
    return alert.resource.name if alert.resource and alert.resource.name else "the affected resource"


def _region(alert: Alert) -> str:
    return alert.region or (alert.resource.region if alert.resource and alert.resource.region else None) or "us-east-1"


# --- Diagnostics (built, never pasted together) ----------------------------------------------------------------

LOG_WINDOW_BEFORE = timedelta(hours=1)
LOG_WINDOW_AFTER = timedelta(minutes=15)
COST_WINDOW_DAYS = 14
_LOG_ERROR_PATTERN = '?ERROR ?Exception ?"Task timed out" ?FATAL ?OutOfMemory ?"Runtime.ExitError"'


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
        recommendations=_mechanism_advice(anomaly_usage(alert), cause)
        or [
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
    period_budget = facts.get("cost.budget_period")  # a daily (quarterly, yearly) budget: no month-end forecast
    forecast = period_budget is None and (
        alert.alert_type == "budget_forecast" or (budget is not None and budget.notification_type == "FORECASTED")
    )
    if forecast:
        sentence = f"The month-end forecast is over budget because {service} spend rose"
    else:
        sentence = f"Spend is driven by {service}"
    step = _step_words(facts)
    # A step that began days ago is told by its onset and levels; its day-over-day change says nothing.
    sentence += f": {step}" if step else f": {_clean(mover.text.split(': ', 1)[-1])}"
    if usage is not None:
        usage_type = usage.subject or (_subject(usage, _COST_MOVER, "label") or "").split(" / ")[-1]
        usage_label = usage_type or "its top usage type"
        sentence += f"; usage type {usage_label} accounts for the change"
    launches = facts.get("compute.recent_launches")
    if launches is not None and "Elastic Compute" in service:
        sentence += f"; new capacity: {_clean(launches.text)}"
    if forecast and facts.get("cost.forecast") is not None:
        sentence += f" ({_clean(facts.get('cost.forecast').text)})"  # type: ignore[union-attr]
    if period_budget is not None:
        sentence += f"; {_clean(period_budget.text)}"
    return Finding(
        root_cause=sentence + ".",
        confidence="medium",
        evidence_keys=[
            "cost.top_mover",
            "cost.top_usage_type",
            "cost.onset",
            "compute.recent_launches",
            "cost.budget_period",
            "cost.forecast",
            "cost.month_to_date",
        ],
        recommendations=(_mechanism_advice([(mover.subject, usage.subject)], usage) if usage is not None else None)
        or [
            f"Open {service} in Cost Explorer grouped by usage type and resource to find what changed.",
            "If the growth is expected (a launch, more traffic), raise the budget; otherwise remove or right-size the "
            "resources behind it.",
        ],
    )


# --- Cost: from the bill to the resource behind it (`compute.cost_resource.<kind>`, per billing mechanism) -------

_VPC_ID = re.compile(r"\bvpc-[0-9a-f]{8,17}\b")


@dataclass(frozen=True)
class CostMechanismPlaybook:
    """What a billing mechanism's top resource means, what to do about it and which read-only commands show it."""

    mechanism: Mechanism
    what: str  # the mechanism in words, leading the root cause
    recommendations: Callable[[Fact], list[str]]
    diagnostics: Callable[[Alert, Fact, Facts, datetime | None], list[BuiltCommand]]


def _metric_statistics(
    alert: Alert, namespace: str, metric: str, dimensions: dict[str, str], when: datetime | None
) -> list[BuiltCommand]:
    """Hourly Sums of one metric over the drill's eight days, for one resource."""
    if when is None:
        return []
    named = [f"Name={name},Value={value}" for name, value in dimensions.items()]
    return [
        _in_region(
            alert,
            "cloudwatch",
            "get-metric-statistics",
            opt("--namespace", namespace, ValueKind.SHORTHAND),
            opt("--metric-name", metric),
            opt("--dimensions", named, ValueKind.SHORTHAND),
            opt("--start-time", (when.date() - timedelta(days=8)).isoformat(), ValueKind.DATE),
            opt("--end-time", (when.date() + timedelta(days=1)).isoformat(), ValueKind.DATE),
            opt("--period", 3600, ValueKind.INTEGER),
            opt("--statistics", ["Sum"]),
        )
    ]


def _nat_commands(alert: Alert, top: Fact, facts: Facts, when: datetime | None) -> list[BuiltCommand]:
    nat = top.subject or ""
    commands = [_in_region(alert, "ec2", "describe-nat-gateways", opt("--nat-gateway-ids", [nat]))]
    vpc = _VPC_ID.search(top.text)
    if vpc is not None:
        commands.append(
            _in_region(
                alert,
                "ec2",
                "describe-vpc-endpoints",
                opt("--filters", [f"Name=vpc-id,Values={vpc.group(0)}"], ValueKind.SHORTHAND),
            )
        )
        commands.append(
            _in_region(
                alert,
                "ec2",
                "describe-flow-logs",
                opt("--filter", [f"Name=resource-id,Values={vpc.group(0)}"], ValueKind.SHORTHAND),
            )
        )
    return commands + _metric_statistics(alert, "AWS/NATGateway", "BytesInFromDestination", {"NatGatewayId": nat}, when)


def _log_ingestion_commands(alert: Alert, top: Fact, facts: Facts, when: datetime | None) -> list[BuiltCommand]:
    group = top.subject or ""
    name = opt("--log-group-name", group, ValueKind.LOG_GROUP)
    return [
        _in_region(alert, "logs", "describe-log-groups", opt("--log-group-name-prefix", group, ValueKind.LOG_GROUP)),
        *_metric_statistics(alert, "AWS/Logs", "IncomingBytes", {"LogGroupName": group}, when),
        _in_region(alert, "logs", "describe-subscription-filters", name),
    ]


_S3_FILTER = re.compile(r"\((?P<metric>BytesDownloaded|AllRequests), filter (?P<filter>[A-Za-z0-9_.-]+)\)")


def _s3_commands(alert: Alert, top: Fact, facts: Facts, when: datetime | None) -> list[BuiltCommand]:
    bucket = top.subject or ""
    commands = [build_command("s3api", "get-bucket-logging", opt("--bucket", bucket, ValueKind.BUCKET))]
    found = _S3_FILTER.search(top.text)
    if found is not None:
        dimensions = {"BucketName": bucket, "FilterId": found.group("filter")}
        commands += _metric_statistics(alert, "AWS/S3", found.group("metric"), dimensions, when)
    return commands


def _s3_advice(top: Fact) -> list[str]:
    transfer = top.numbers is not None and top.numbers.unit == "bytes"
    if transfer or "DataTransfer-Out" in top.text or "BytesDownloaded" in top.text:
        return [
            "Serve the downloads through CloudFront (cached, cheaper per GB than S3 data transfer out), or find the "
            "client downloading the same objects again in the bucket's server access logs.",
            "If the objects are meant to be public, check that nobody hot-links them; otherwise require signed URLs.",
        ]
    return [
        "Find the client making the requests (the bucket's server access logs, or CloudTrail data events): a sync "
        "or list loop is the usual cause; stop it, then batch or cache its calls.",
        "For many small PUTs, batch objects before uploading; requests are billed per thousand.",
    ]


def _ec2_commands(alert: Alert, top: Fact, facts: Facts, when: datetime | None) -> list[BuiltCommand]:
    instance_type = top.subject or ""
    return [
        _in_region(
            alert,
            "ec2",
            "describe-instances",
            opt(
                "--filters",
                [f"Name=instance-type,Values={instance_type}", "Name=instance-state-name,Values=running"],
                ValueKind.SHORTHAND,
            ),
        ),
        _in_region(alert, "autoscaling", "describe-auto-scaling-groups", max_items=20),
    ]


# Per kind of top resource (the fact key's last part): its mechanism's playbook. Never another mechanism's advice.
COST_MECHANISM_PLAYBOOKS: dict[str, CostMechanismPlaybook] = {
    "nat_gateway": CostMechanismPlaybook(
        mechanism="nat_gateway",
        what="NAT gateway data processing",
        recommendations=lambda top: [
            "Route S3 and DynamoDB traffic through gateway VPC endpoints (free) and pull container images through "
            "ECR interface endpoints, so that traffic stops paying NAT data processing per GB.",
            "Find the talker with VPC flow logs on the NAT gateway's network interface (top source addresses by "
            "bytes), then fix or move what it downloads.",
        ],
        diagnostics=_nat_commands,
    ),
    "log_group": CostMechanismPlaybook(
        mechanism="log_ingestion",
        what="CloudWatch Logs ingestion",
        recommendations=lambda top: [
            "Lower the log level of what writes to this log group (debug logging left on after a deploy is the usual "
            "cause), or sample its verbose lines; ingestion is billed per GB.",
            "If the volume is needed, send it to S3 through a subscription filter or use the Infrequent Access log "
            "class, and set a retention period so stored bytes stop growing.",
        ],
        diagnostics=_log_ingestion_commands,
    ),
    "s3_bucket": CostMechanismPlaybook(
        mechanism="s3_bucket",
        what="S3 usage by bucket",
        recommendations=_s3_advice,
        diagnostics=_s3_commands,
    ),
    "ec2_instances": CostMechanismPlaybook(
        mechanism="ec2_instances",
        what="EC2 instance hours",
        recommendations=lambda top: [
            "Stop or terminate the instances nobody claims (check their owner tags and launch dates); if an Auto "
            "Scaling group launched them, lower its minimum and desired capacity.",
            "If the capacity is meant to stay, right-size it or cover it with a Savings Plan.",
        ],
        diagnostics=_ec2_commands,
    ),
}


# A mechanism's playbook, by mechanism (the playbooks above are keyed by the kind of resource their drill names).
_PLAYBOOK_OF: dict[Mechanism, CostMechanismPlaybook] = {p.mechanism: p for p in COST_MECHANISM_PLAYBOOKS.values()}


def _mechanism_advice(causes: list[tuple[str | None, str | None]], fact: Fact) -> list[str] | None:
    """The next steps of the mechanism billing these (service, usage type) pairs, when one has a playbook: what to
    do about NAT bytes even when no NAT gateway's metrics could be read."""
    playbook = next((_PLAYBOOK_OF[m] for m in mechanisms_for(causes) if m in _PLAYBOOK_OF), None)
    return playbook.recommendations(fact) if playbook is not None else None


def _billed_mechanisms(alert: Alert, facts: Facts) -> list[Mechanism] | None:
    """The mechanisms the bill itself points at (the anomaly's usage types, else the top service's top usage type),
    or None when the bill names no usage type (then a resource that clearly grew is the best lead there is)."""
    causes = anomaly_usage(alert)
    if any(usage for _, usage in causes):
        return mechanisms_for(causes)
    usage = facts.get("cost.top_usage_type")
    mover = facts.get("cost.top_mover")
    if usage is None or mover is None:
        return None
    return mechanisms_for([(mover.subject, usage.subject)])


def _step_words(facts: Facts) -> str | None:
    """The cost's shape when it is a step or creep ("... stepped up on Nov 21 and stayed: ..."), else None."""
    onset = facts.get("cost.onset")
    if onset is None or onset.value not in ("step_up", "creep"):
        return None
    return _clean(onset.text)


def _cost_resource(alert: Alert, facts: Facts) -> Finding | None:
    billed = _billed_mechanisms(alert, facts)
    for kind, playbook in COST_MECHANISM_PLAYBOOKS.items():
        top = facts.get(f"compute.cost_resource.{kind}")
        if top is None or (billed is not None and playbook.mechanism not in billed):
            continue
        sentence = f"{playbook.what}: {_clean(top.text)}"
        cause = facts.get("cost.anomaly_root_cause.1")
        usage = facts.get("cost.top_usage_type")
        if cause is not None:
            sentence += f"; the anomaly names {_clean(cause.text.replace('Anomaly root cause 1: ', ''))}"
        elif usage is not None:
            sentence += f"; the bill shows it as {_clean(usage.text.replace('Driven by usage type ', ''))}"
        writer = next(
            (fact for fact, _ in facts.by_key.values() if fact.via and top.subject and top.subject in fact.via), None
        )
        if writer is not None:
            sentence += f"; what writes it: {_clean(writer.text)}"
        step = _step_words(facts)
        if step:
            sentence += f"; {step}"
        budget = facts.get("cost.budget_period")
        if budget is not None:
            sentence += f"; {_clean(budget.text)}"
        logs = _log_summary(facts)
        if logs:
            sentence += f"; {logs}"
        return Finding(
            root_cause=sentence + ".",
            confidence="high" if (cause is not None or usage is not None) else "medium",
            evidence_keys=[
                f"compute.cost_resource.{kind}",
                "cost.anomaly_root_cause.1",
                "cost.top_usage_type",
                "cost.onset",
                "cost.budget_period",
                "logs.message.1",
            ],
            recommendations=playbook.recommendations(top),
            diagnostics=playbook.diagnostics(alert, top, facts, _when(alert, None)),
        )
    return None


def _steady_spend(alert: Alert, facts: Facts) -> Finding | None:
    """A flat bill: the threshold was reached by the usual spend, not by anything new. Said as such."""
    steady = facts.get("cost.steady")
    if steady is None or facts.keys("compute.cost_resource.") or facts.get("compute.lambda_mover") is not None:
        return None
    sentence = f"No sign of a cost problem: nothing new is being billed. {_clean(steady.text)}"
    budget = facts.get("cost.budget_period") or facts.get("cost.month_to_date")
    if budget is not None:
        sentence += f"; {_clean(budget.text)}"
    forecast = facts.get("cost.forecast")
    if forecast is not None and facts.get("cost.budget_period") is None:
        sentence += f"; {_clean(forecast.text)}"
    return Finding(
        root_cause=sentence + ". The threshold was reached by the usual spend.",
        confidence="medium",
        evidence_keys=["cost.steady", "cost.budget_period", "cost.month_to_date", "cost.forecast", "cost.top_services"],
        recommendations=[
            "No resource needs action. If this level of spend is expected, raise the budget or its alert threshold "
            "to match it, so the next alert means something changed.",
            "To spend less, start with the largest steady services (listed under top services), not a recent change.",
        ],
    )


def _billing_alarm(alert: Alert, facts: Facts) -> Finding | None:
    """A billing alarm (AWS/Billing EstimatedCharges) is a cost alert: the cost detectors read it, and its commands
    read the bill."""
    if _alarm(alert).namespace != "AWS/Billing":
        return None
    finding = next((f for f in (detect(alert, facts) for detect in COST_DETECTORS) if f is not None), None)
    finding = finding or _cost_fallback(alert, facts)
    finding.diagnostics = finding.diagnostics + _cost_diagnostics(alert, _when(alert, None), [])
    return finding


def _nat_gateway_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    nat = _target(alert, "nat_gateway")
    if nat is None:
        return []
    return [_in_region(alert, "ec2", "describe-nat-gateways", opt("--nat-gateway-ids", [nat]))]


def _log_group_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    group = _target(alert, "log_group")
    if group is None:
        return []
    return [
        _in_region(alert, "logs", "describe-log-groups", opt("--log-group-name-prefix", group, ValueKind.LOG_GROUP))
    ]


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
        verdict="false_alarm",
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


# --- What changed, and noisy alarms (facts of `investigate/changes.py` and `investigate/noise.py`) --------------

_NOISE_PREFIX = "compute.alarm_noise."
# Forms that can make an alarm "likely noise" by themselves; INSUFFICIENT_DATA -> ALARM only adds to one of them.
_NOISE_VERDICT_FORMS = ("reconfigured", "single_datapoint", "marginal_breach")
# A recorded write on the resource at most this long before the alert is a candidate cause.
CHANGE_BEFORE_ALERT_MINUTES = 180
# A companion metric that doubled (or halved) moved with the alarm: something is going on.
_COMPANION_MOVE_PERCENT = 100
_COMPANION_DROP_PERCENT = 50
# A resource name or ARN that is safe inside a shorthand value (no `,` or `=` to start another key).
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.:/-]{1,256}")


# Writes that change no behaviour: labels on a resource.
_TAGGING_EVENTS = re.compile(r"^(?:CreateTags|DeleteTags|TagResource|UntagResource|AddTags|RemoveTags)")


def _resource_change(facts: Facts) -> Fact | None:
    """The newest recorded write (CloudTrail) on an investigated resource shortly before the alert, tags aside."""
    for key in sorted(facts.keys("compute.change."), key=lambda k: int(k.rsplit(".", 1)[-1] or 0)):
        fact = facts.get(key)
        minutes = fact.numbers.value if fact is not None and fact.numbers is not None else None
        if fact is None or _TAGGING_EVENTS.match(fact.text.split(" ", 1)[0]):
            continue
        if minutes is not None and 0 <= minutes <= CHANGE_BEFORE_ALERT_MINUTES:
            return fact
    return None


def _noise_forms(facts: Facts) -> dict[str, Fact]:
    found = {key.removeprefix(_NOISE_PREFIX): facts.get(key) for key in facts.keys(_NOISE_PREFIX)}
    return {form: fact for form, fact in found.items() if fact is not None}


def _something_wrong(facts: Facts) -> str | None:
    """What in the evidence besides the alarm says something is wrong, in words; None when nothing does."""
    if _log_errors(facts):
        return "the logs show errors"
    if facts.get("compute.recent_change") is not None or _resource_change(facts) is not None:
        return "the resource changed recently"
    checks = facts.get("compute.status_checks")
    if checks is not None and isinstance(checks.value, str) and checks.value not in ("ok/ok", "ok"):
        return "a status check fails"
    for key in facts.keys("compute.metric."):
        fact = facts.get(key)
        change = fact.numbers.change_pct if fact is not None and fact.numbers is not None else None
        if change is not None and (change >= _COMPANION_MOVE_PERCENT or change <= -_COMPANION_DROP_PERCENT):
            return f"{key.removeprefix('compute.metric.')} moved with it"
    return None


_USUAL_LEVEL_PERCENT = 50


def _usual_level(facts: Facts) -> bool:
    """Whether the alarm's metric is where it usually is: its peak would not have crossed the alarm's previous
    threshold, or it is within _USUAL_LEVEL_PERCENT of its baseline."""
    metric = facts.get("compute.alarm_metric")
    change = facts.get("compute.alarm_change")
    peak = _peak(metric)
    old = change.numbers.baseline if change is not None and change.numbers is not None else None
    new = change.numbers.threshold if change is not None and change.numbers is not None else None
    if peak is not None and old is not None and new is not None:
        # The old threshold sits on the same side of the peak as the new one would have to be crossed from.
        return (peak - new) * (peak - old) < 0
    moved = metric.numbers.change_pct if metric is not None and metric.numbers is not None else None
    return moved is not None and abs(moved) < _USUAL_LEVEL_PERCENT


def _likely_noise(alert: Alert, facts: Facts) -> Finding | None:
    """A noise form (1 of 1 datapoints, a marginal breach, a just-redefined alarm) and nothing else wrong."""
    forms = _noise_forms(facts)
    if not any(form in forms for form in _NOISE_VERDICT_FORMS) or _something_wrong(facts) is not None:
        return None
    if set(forms) & set(_NOISE_VERDICT_FORMS) == {"reconfigured"} and not _usual_level(facts):
        return None  # redefined, but the metric is not at its usual level: the breach may be real
    name = _implicated_name(alert)
    metric = _alarm(alert).metric_name or "the alarm's metric"
    change = facts.get("compute.alarm_change")
    reasons = [_clean(forms[form].text) for form in (*_NOISE_VERDICT_FORMS, "from_insufficient_data") if form in forms]
    if "reconfigured" in forms and change is not None:
        sentence = f"Likely a false alarm from a threshold change, not a problem on {name}: "
        sentence += _clean(change.text)
        # The change's own text says who and what; of the form, only its comparison with the old threshold is new.
        reasons[0] = "; ".join(forms["reconfigured"].text.split("; ")[1:])
    else:
        sentence = f"Likely a false alarm (noise) on {name}: no sign of a problem"
    metric_fact = facts.get("compute.alarm_metric")
    if metric_fact is not None:
        sentence += f"; {metric} {_clean(metric_fact.text.replace('Alarm metric ', '').split(': ', 1)[-1])}"
    sentence += "".join(f"; {reason[0].lower()}{_clean(reason[1:])}" for reason in reasons if reason)
    if _log_errors(facts) == 0:
        sentence += "; the logs show no errors"
    recommendations = []
    if "reconfigured" in forms:
        recommendations.append(
            "Review the alarm's recent redefinition with whoever made it: restore the previous threshold, or set the "
            "new one above the metric's normal level."
        )
    if "single_datapoint" in forms:
        recommendations.append("Require more datapoints to alarm (e.g. 3 of 5) so a single spike does not page.")
    if "marginal_breach" in forms:
        recommendations.append("Move the threshold clear of the metric's normal peaks, or alarm on a longer period.")
    recommendations.append(f"No action is needed on {name} unless the alarm fires again with other symptoms.")
    old = change.numbers.baseline if change is not None and change.numbers is not None else None
    peak = _peak(metric_fact)
    clean_logs = _log_errors(facts) == 0
    return Finding(
        root_cause=sentence + ".",
        confidence="high"
        if "reconfigured" in forms and old is not None and peak is not None and clean_logs
        else "medium",
        evidence_keys=[
            "compute.alarm_change",
            *[_NOISE_PREFIX + f for f in forms],
            "compute.alarm_metric",
            "logs.error_count",
        ],
        recommendations=recommendations,
        diagnostics=_alarm_definition_diagnostics(alert),
    )


def _alarm_definition_diagnostics(alert: Alert) -> list[BuiltCommand]:
    alarm_name = _alarm(alert).alarm_name
    if not alarm_name:
        return []
    return [
        _in_region(alert, "cloudwatch", "describe-alarms", opt("--alarm-names", [alarm_name], ValueKind.ALARM_NAME)),
        _in_region(
            alert,
            "cloudwatch",
            "describe-alarm-history",
            opt("--alarm-name", alarm_name, ValueKind.ALARM_NAME),
            opt("--history-item-type", "ConfigurationUpdate"),
            max_items=5,
        ),
    ]


def _with_noise_note(finding: Finding, facts: Facts) -> Finding:
    """A cause found while the alarm also shows a noise form: say so, and trust the cause a little less."""
    forms = _noise_forms(facts)
    if not forms or any(key.startswith(_NOISE_PREFIX) for key in finding.evidence_keys):
        return finding
    if any(form in forms for form in _NOISE_VERDICT_FORMS) and finding.confidence == "high":
        finding.confidence = "medium"
    note = "; ".join(_clean(fact.text) for fact in forms.values())
    finding.recommendations.append(f"The alarm itself may be noisy: {note}.")
    return finding


def _implicated_name(alert: Alert) -> str:
    """The alert's resource, else the resource the alarm's first dimension names."""
    if alert.resource and alert.resource.name:
        return alert.resource.name
    dimensions = _alarm(alert).dimensions or {}
    return next(iter(dimensions.values()), None) or _resource_name(alert)


def _recorded_event_names(facts: Facts) -> list[str]:
    """The API names of the recorded changes (a change fact's text starts with its event name)."""
    return [fact.text.split(" ", 1)[0] for key in facts.keys("compute.change.") if (fact := facts.get(key))]


_DEPLOY_EVENTS = re.compile(r"^(?:UpdateFunctionCode|PublishVersion|CreateDeployment|RegisterTaskDefinition|"
                            r"CreateImage|StartDeployment|UpdateStack|ExecuteChangeSet)")  # fmt: skip
_CONFIGURATION_EVENTS = re.compile(
    r"^(?:Update|Modify|Put|Set|Change|Delete|Remove|Disable|Enable|Attach|Detach|Revoke|Authorize|Replace|Reboot)"
)


def _change_kind(event_name: str) -> str:
    """What kind of change a CloudTrail event name is, in words."""
    if "Secret" in event_name:
        return "a change to a secret it reads"
    if _DEPLOY_EVENTS.match(event_name):
        return "a code deploy"
    if _CONFIGURATION_EVENTS.match(event_name):
        return "a configuration change"
    return "a recorded change"


def _breached(metric_fact: Fact | None) -> bool:
    """Whether the alarm's metric crossed its threshold, or, with no threshold known, rose well above its usual
    level (by half or more, or from zero)."""
    numbers = metric_fact.numbers if metric_fact is not None else None
    if numbers is None:
        return False
    if numbers.crossed is not None:
        return numbers.crossed
    if numbers.change_pct is not None:
        return numbers.change_pct >= _USUAL_LEVEL_PERCENT
    return bool(numbers.value) and numbers.baseline == 0


def _failing_after_recorded_change(alert: Alert, facts: Facts) -> Finding | None:
    """The alarm's metric rose (or errors appeared) shortly after someone changed the resource (CloudTrail)."""
    change = _resource_change(facts)
    if change is None:
        return None
    metric_fact = facts.get("compute.alarm_metric")
    errors = bool(_metric_peak(facts, alert, "Errors") or _log_errors(facts))
    if not (errors or _breached(metric_fact)):
        return None
    name = _implicated_name(alert)
    minutes = int(change.numbers.value) if change.numbers and change.numbers.value is not None else None
    kind = _change_kind(change.text.split(" ", 1)[0])
    metric = _alarm(alert).metric_name or alert.alert_type
    what = "started failing" if errors else f"breached its {metric} threshold"
    sentence = f"{name} {what} {minutes} min after {kind}: {_clean(change.text)}"
    if kind == "a configuration change" and not any(
        _change_kind(e) == "a code deploy" for e in _recorded_event_names(facts)
    ):
        sentence += " (no code deploy is recorded)"
    if metric_fact is not None:
        sentence += f"; {metric}: {_clean(metric_fact.text.replace('Alarm metric ', '').split(': ', 1)[-1])}"
    logs = _log_summary(facts)
    if logs:
        sentence += f"; {logs}"
    subject = change.subject or ""
    diagnostics = []
    if _PLAIN_NAME.fullmatch(subject):
        when = _when(alert, None)
        options = [
            opt("--lookup-attributes", [f"AttributeKey=ResourceName,AttributeValue={subject}"], ValueKind.SHORTHAND)
        ]
        if when is not None:
            start = (when - timedelta(minutes=CHANGE_BEFORE_ALERT_MINUTES)).strftime("%Y-%m-%dT%H:%M:%SZ")
            options.append(opt("--start-time", start, ValueKind.WORD))
        diagnostics.append(_in_region(alert, "cloudtrail", "lookup-events", *options, max_items=20))
    return Finding(
        root_cause=sentence + ".",
        confidence="high" if logs or _breached(metric_fact) else "medium",
        evidence_keys=[
            change.key,
            "compute.alarm_metric",
            "logs.pattern.1",
            "logs.error_count",
            "compute.recent_change",
        ],
        recommendations=[
            f"Undo the change on {subject or name} (restore the previous configuration or value) now, then review it "
            "with whoever made it.",
            "Compare the configuration before and after the change (CloudTrail's request parameters show what was "
            "set).",
        ],
        diagnostics=diagnostics,
    )


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
    if _alarm(alert).namespace not in _EC2_NAMESPACES or (_instance_id(alert) is None and _asg_name(alert)):
        return None  # a database's or a group's CPU: their own detectors, never the one-instance playbook
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
            # An instance its Auto Scaling group runs (the walk's neighbour): the group's policy, not a new group.
            f"Check {group.subject}'s scaling policy and maximum: it should have added capacity before saturation."
            if (group := facts.get("compute.asg")) is not None and group.subject
            else "Put the instance behind an Auto Scaling group with a CPU target so the next surge scales by itself.",
        ],
        diagnostics=[
            _in_region(alert, "ec2", "describe-instance-status", opt("--instance-ids", [i], ValueKind.EC2_INSTANCE))
            for i in filter(None, [_instance_id(alert)])
        ],
    )


def _status_check(alert: Alert, facts: Facts) -> Finding | None:
    metric = _alarm(alert).metric_name or ""
    if not metric.startswith("StatusCheckFailed") or _alarm(alert).namespace not in _EC2_NAMESPACES:
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


# --- Databases, load balancers, Auto Scaling groups -------------------------------------------------------------
# Each type has its own mechanism and playbook: a database's CPU is never answered with EC2 status checks or
# Auto Scaling advice, a load balancer's 5XX names whether the load balancer or the application returned them.

_EC2_NAMESPACES = {None, "", "AWS/EC2"}
_DB_OUTAGE_EVENTS = {"failover", "failure", "availability", "recovery", "maintenance"}
_EVENT_WINDOW_DIAGNOSTICS = timedelta(hours=6)
# Alarms a group's capacity explains: the instances' own load, the group's metrics, the targets' count and speed.
_CAPACITY_NAMESPACES = {None, "", "AWS/EC2", "AWS/AutoScaling"}
_CAPACITY_METRICS = {"HealthyHostCount", "UnHealthyHostCount", "TargetResponseTime", "RequestCountPerTarget"}


def _namespace(alert: Alert) -> str | None:
    return _alarm(alert).namespace


def _is_rds(alert: Alert) -> bool:
    return _namespace(alert) == "AWS/RDS" or _db_identifier(alert) is not None


def _db_identifier(alert: Alert) -> tuple[str, str] | None:
    """("db-instance" | "db-cluster", identifier) of the alert's database, or None."""
    instance = _target(alert, "rds_instance")
    if instance:
        return "db-instance", instance
    cluster = _target(alert, "rds_cluster")
    return ("db-cluster", cluster) if cluster else None


def _asg_name(alert: Alert) -> str | None:
    return _target(alert, "asg")


def _fact_text(fact: Fact | None) -> str:
    return _clean(fact.text) if fact is not None else ""


def _metric_text(facts: Facts, alert: Alert, metric: str) -> str | None:
    fact = facts.get("compute.alarm_metric") if _alarm(alert).metric_name == metric else None
    fact = fact or facts.get(f"compute.metric.{metric}")
    return _clean(fact.text.replace("Alarm metric ", "")) if fact is not None else None


def _db_connections_exhausted(alert: Alert, facts: Facts) -> Finding | None:
    near = facts.get("compute.db_connections_near_max")
    if near is None:
        return None
    callers = facts.get("compute.db_callers")
    sentence = f"Database connections exhausted: {_clean(near.text)}"
    invocations = facts.get("compute.metric.Invocations")
    concurrency = facts.get("compute.metric.ConcurrentExecutions")
    if callers is not None:
        sentence += f"; {_clean(callers.text)}"
        numbers = callers.numbers
        if callers.subject and numbers is not None and numbers.value is not None and numbers.baseline is not None:
            if numbers.value >= 2 * max(numbers.baseline, 1):
                sentence += (
                    f"; the fan-out of {callers.subject} (up to {numbers.value:,.0f} concurrent executions, usually "
                    f"{numbers.baseline:,.0f}), each opening its own connection, exhausted them"
                )
        else:
            surge = next((f for f in (concurrency, invocations) if f is not None and _rose(f)), None)
            if surge is not None:
                sentence += f", and its callers fanned out: {_clean(surge.text)}"
    return Finding(
        root_cause=sentence + ".",
        confidence="high" if callers is not None else "medium",
        evidence_keys=[
            "compute.db_connections_near_max",
            "compute.db_callers",
            "compute.metric.ConcurrentExecutions",
            "compute.db_instance",
        ],
        recommendations=[
            "Cap the callers' concurrency (reserved concurrency on the Lambda functions) so they cannot open more "
            "connections than the database allows.",
            "Put RDS Proxy (or a connection pool) between the functions and the database, and close connections "
            "opened per invocation.",
            "Raise max_connections (parameter group) or the instance class only if the database has headroom.",
        ],
    )


def _db_storage_full(alert: Alert, facts: Facts) -> Finding | None:
    low = facts.get("compute.db_storage_low")
    event = facts.get("compute.db_event")
    storage_event = event is not None and event.value == "low storage"
    if low is None and not storage_event:
        return None
    sentence = "The database is running out of storage"
    if low is not None:
        sentence += f": {_clean(low.text)}"
    if storage_event:
        sentence += f"; {_clean(event.text)}"  # type: ignore[union-attr]
    return Finding(
        root_cause=sentence + ".",
        confidence="high",
        evidence_keys=["compute.db_storage_low", "compute.db_event", "compute.db_instance"],
        recommendations=[
            "Increase the allocated storage now (modify the instance; it stays available), and enable storage "
            "autoscaling with a MaxAllocatedStorage ceiling.",
            "Find what is filling it (a table or its indexes, binary logs or WAL kept by a replication slot, "
            "temporary files) and stop that growth.",
        ],
    )


def _db_outage_event(alert: Alert, facts: Facts) -> Finding | None:
    event = facts.get("compute.db_event")
    if event is None or event.value not in _DB_OUTAGE_EVENTS or not _is_rds(alert):
        return None
    minutes = event.numbers.value if event.numbers else None
    if minutes is not None and minutes > 120:
        return None
    metric = _alarm(alert).metric_name or alert.alert_type
    sentence = f"An RDS {event.value} event explains the {metric} blip on {_resource_name(alert)}: {_clean(event.text)}"
    second = facts.get("compute.db_event.2")
    if second is not None:
        sentence += f"; {_clean(second.text)}"
    return Finding(
        root_cause=sentence + ".",
        confidence="high",
        evidence_keys=["compute.db_event", "compute.db_event.2", "compute.db_instance", "compute.db_cluster"],
        recommendations=[
            "Confirm the database is available again and the callers reconnected (connection errors should stop "
            "within minutes of the event).",
            "Make the callers retry on a dropped connection and resolve the endpoint's DNS again, so the next "
            "failover costs seconds, not errors.",
        ],
    )


def _db_cpu_credits(alert: Alert, facts: Facts) -> Finding | None:
    """A burstable database out of CPU credits: whatever the alarm (CPU, latency), the instance is throttled."""
    credits = facts.get("compute.db_cpu_credits_exhausted")
    if credits is None or not _is_rds(alert):
        return None
    metric = _alarm(alert).metric_name or alert.alert_type
    sentence = f"CPU credits exhausted on database {_resource_name(alert)}: {_clean(credits.text)}"
    shown = _metric_text(facts, alert, metric) if metric else None
    if shown:
        sentence += f"; {shown}"
    return Finding(
        root_cause=sentence + ".",
        confidence="high",
        evidence_keys=["compute.db_cpu_credits_exhausted", "compute.alarm_metric", "compute.db_instance"],
        recommendations=[
            "Move the instance to a non-burstable class (db.m*/db.r*) or enable unlimited credit mode if the load "
            "is steady.",
            "Find what raised the CPU use (top SQL in Performance Insights) before it drained the credits.",
        ],
    )


def _db_cpu_saturation(alert: Alert, facts: Facts) -> Finding | None:
    if not _is_rds(alert) or _alarm(alert).metric_name != "CPUUtilization":
        return None
    peak = _metric_peak(facts, alert, "CPUUtilization")
    if peak is None or peak < 85:
        return None
    database = facts.get("compute.db_instance") or facts.get("compute.db_cluster")
    sentence = f"CPU saturation on database {_resource_name(alert)}: {_metric_text(facts, alert, 'CPUUtilization')}"
    connections = _metric_text(facts, alert, "DatabaseConnections")
    if connections:
        sentence += f"; {connections}"
    if database is not None:
        sentence += f"; {_fact_text(database)}"
    return Finding(
        root_cause=sentence + ".",
        confidence="medium",
        evidence_keys=["compute.alarm_metric", "compute.db_instance", "compute.metric.DatabaseConnections"],
        recommendations=[
            "Find the queries that use the CPU (Performance Insights top SQL, or the slow query log); a missing "
            "index or a new query plan is the usual cause.",
            "Move read traffic to a read replica, or scale the instance class up, if the load is legitimate.",
        ],
    )


def _lb_no_healthy_targets(alert: Alert, facts: Facts) -> Finding | None:
    unhealthy = facts.get("compute.lb_all_targets_unhealthy")
    if unhealthy is None:
        return None
    sentence = f"{_clean(unhealthy.text)}, so the load balancer has no target to route to and answers errors itself"
    origin = facts.get("compute.lb_5xx_origin")
    if origin is not None:
        sentence += f"; {_clean(origin.text)}"
    change = facts.get("compute.recent_change")
    if change is not None:
        sentence += f"; {_clean(change.text)}"
    return Finding(
        root_cause=sentence + ".",
        confidence="high",
        evidence_keys=[
            "compute.lb_all_targets_unhealthy",
            "compute.lb_5xx_origin",
            "compute.lb_target_health",
            "compute.alarm_metric",
            "compute.recent_change",
        ],
        recommendations=[
            f"Make the health check pass: the targets report {unhealthy.value}; call the health check path on one "
            "target and compare its answer with the expected codes.",
            "If a deploy broke it, roll the targets back to the previous version.",
        ],
        diagnostics=[
            _in_region(alert, "elbv2", "describe-target-health", opt("--target-group-arn", arn, ValueKind.ARN))
            for arn in filter(None, [_elb_arn(alert, unhealthy.subject or "")])
            if ":targetgroup/" in arn
        ],
    )


def _lb_targets_unhealthy(alert: Alert, facts: Facts) -> Finding | None:
    """An UnHealthyHostCount / HealthyHostCount alarm while some (not all) targets fail their health check: name
    them, with the reason their target group reports."""
    if _alarm(alert).metric_name not in ("UnHealthyHostCount", "HealthyHostCount"):
        return None
    health = facts.get("compute.lb_target_health")
    numbers = health.numbers if health is not None else None
    if health is None or numbers is None or numbers.value is None or numbers.baseline is None:
        return None
    if numbers.value >= numbers.baseline:
        return None  # every target is healthy now: nothing to name (the alarm may have recovered)
    sentence = f"Targets fail their health check: {_clean(health.text)}"
    neighbour = facts.get("compute.instance")
    if neighbour is not None and neighbour.via and "unhealthy" in neighbour.via:
        sentence += f"; {_clean(neighbour.text)}"
        checks = facts.get("compute.status_checks")
        if checks is not None and checks.via == neighbour.via and checks.value == "ok/ok":
            sentence += "; it passes its EC2 status checks, so the service on it fails, not the host"
    return Finding(
        root_cause=sentence + ".",
        confidence="medium",
        evidence_keys=["compute.lb_target_health", "compute.alarm_metric", "compute.instance", "compute.status_checks"],
        recommendations=[
            "On an unhealthy target, check that the service listens on the health check port and answers the "
            "health check in time; restart or replace the target if it does not.",
            "The healthy targets carry the traffic meanwhile: check they have the headroom.",
        ],
    )


def _lb_5xx_origin(alert: Alert, facts: Facts) -> Finding | None:
    """A load balancer's 5XX alarm: whether the load balancer or the application returns them (the investigation's
    `compute.lb_5xx_origin`, else the two metrics' peaks)."""
    metric = _alarm(alert).metric_name
    if metric not in ("HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count"):
        return None
    origin_fact = facts.get("compute.lb_5xx_origin")
    origin = origin_fact.value if origin_fact is not None else None
    if origin is None:
        elb = _metric_peak(facts, alert, "HTTPCode_ELB_5XX_Count") or 0.0
        app = _metric_peak(facts, alert, "HTTPCode_Target_5XX_Count") or 0.0
        origin = "load_balancer" if elb >= 5 * max(app, 1) else "targets" if app >= 5 * max(elb, 1) else None
    if origin is None:
        return None
    name = _resource_name(alert)
    shown = _clean(origin_fact.text) if origin_fact is not None else _metric_text(facts, alert, metric) or metric
    keys = ["compute.lb_5xx_origin", "compute.alarm_metric", "compute.lb_target_health"]
    if origin == "load_balancer":
        sentence = f"The load balancer {name} itself returns the 5XX, not the application: {shown}"
        health = facts.get("compute.lb_target_health")
        if health is not None:
            sentence += f"; {_clean(health.text)}"
        advice = (
            "Check the targets' health and whether they close connections early (keep-alive shorter than the load "
            "balancer's idle timeout) or take longer than it to answer."
        )
    else:
        sentence = f"The application behind {name} returns the 5XX: {shown}"
        advice = "Read the targets' application logs around the breach for the failing request path."
    change = facts.get("compute.recent_change")
    if change is not None:
        sentence += f"; {_clean(change.text)}"
        keys.append("compute.recent_change")
    return Finding(
        root_cause=sentence + ".",
        confidence="medium",
        evidence_keys=keys,
        recommendations=[advice, "If a deploy lines up with the breach, roll it back."],
    )


def _lb_slow_targets(alert: Alert, facts: Facts) -> Finding | None:
    if _alarm(alert).metric_name != "TargetResponseTime":
        return None
    fact = facts.get("compute.alarm_metric")
    if fact is None or not _rose(fact):
        return None
    sentence = (
        f"The targets behind {_resource_name(alert)} respond slowly: {_metric_text(facts, alert, 'TargetResponseTime')}"
    )
    requests = facts.get("compute.metric.RequestCount")
    if requests is not None and rules_generic.rose_clearly(requests):
        sentence += f"; traffic rose with it ({_clean(requests.text)})"
    cpu = facts.get("compute.metric.CPUUtilization")
    if cpu is not None:
        sentence += f"; {_clean(cpu.text)}"
    return Finding(
        root_cause=sentence + ".",
        confidence="medium",
        evidence_keys=["compute.alarm_metric", "compute.metric.RequestCount", "compute.lb_target_health"],
        recommendations=[
            "Look at what the targets wait on (a database, a downstream API) around the breach.",
            "Add targets (scale the service out) if the load rose and the targets are busy.",
        ],
    )


def _asg_cannot_scale(alert: Alert, facts: Facts) -> Finding | None:
    failed = facts.get("compute.asg_launch_failed")
    at_max = facts.get("compute.asg_at_max")
    if failed is None and at_max is None:
        return None
    metric_name = _alarm(alert).metric_name or ""
    if metric_name.startswith("StatusCheckFailed"):
        return None  # one instance's failed host: its own playbook, whatever its group is doing
    if _namespace(alert) not in _CAPACITY_NAMESPACES and metric_name not in _CAPACITY_METRICS:
        return None  # e.g. a load balancer's 5XX: a group found two hops away is not why requests fail
    group = facts.get("compute.asg")
    name = (group.subject if group else None) or _asg_name(alert) or "the Auto Scaling group"
    metric = _alarm(alert).metric_name or alert.alert_type
    if failed is not None:
        sentence = f"Auto Scaling group {name} cannot launch instances: {_clean(failed.text)}"
    else:
        sentence = f"Auto Scaling group {name} cannot scale out: {_clean(at_max.text)}"  # type: ignore[union-attr]
    if group is not None:
        sentence += f"; {_clean(group.text)}"
    metric_text = _metric_text(facts, alert, metric) if metric else None
    if metric_text:
        sentence += f"; meanwhile {metric_text}"
    return Finding(
        root_cause=sentence + ".",
        confidence="high",
        evidence_keys=["compute.asg_launch_failed", "compute.asg_at_max", "compute.asg", "compute.alarm_metric"],
        recommendations=[
            "Fix what the failed activity names: allow more instance types or Availability Zones for "
            "InsufficientInstanceCapacity, or correct the launch template (AMI, security group, instance profile)."
            if failed is not None
            else "Raise the group's maximum capacity if the load is legitimate, or find what drives the load.",
            "Until it launches, shed or throttle load on the instances that run.",
        ],
    )


def _asg_cpu_saturation(alert: Alert, facts: Facts) -> Finding | None:
    """CPU high across a group that can still scale: the group is short of capacity or its policy is too slow."""
    name = _asg_name(alert)
    if name is None or _alarm(alert).metric_name != "CPUUtilization":
        return None
    peak = _metric_peak(facts, alert, "CPUUtilization")
    if peak is None or peak < 85:
        return None
    group = facts.get("compute.asg")
    sentence = f"CPU saturation across Auto Scaling group {name}: {_metric_text(facts, alert, 'CPUUtilization')}"
    if group is not None:
        sentence += f"; {_clean(group.text)}"
    activity = facts.get("compute.asg_activity")
    if activity is not None:
        sentence += f"; {_clean(activity.text)}"
    return Finding(
        root_cause=sentence + ".",
        confidence="medium",
        evidence_keys=["compute.alarm_metric", "compute.asg", "compute.asg_activity"],
        recommendations=[
            "Check the group's scaling policy: a target-tracking policy on CPU scales out before saturation; a "
            "step policy may react too late or be too small.",
            "Raise the desired capacity by hand for the surge if the policy lags.",
        ],
    )


def _rds_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    found = _db_identifier(alert)
    if found is None or found[0] != "db-instance":
        return []
    return [
        _in_region(alert, "rds", "describe-db-instances", opt("--db-instance-identifier", found[1])),
        _rds_events_command(alert, found, when),
    ]


def _rds_cluster_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    found = _db_identifier(alert)
    if found is None or found[0] != "db-cluster":
        return []
    return [
        _in_region(alert, "rds", "describe-db-clusters", opt("--db-cluster-identifier", found[1])),
        _rds_events_command(alert, found, when),
    ]


def _rds_events_command(alert: Alert, found: tuple[str, str], when: datetime | None) -> BuiltCommand:
    source_type, identifier = found
    window = []
    if when is not None:
        start = (when - _EVENT_WINDOW_DIAGNOSTICS).strftime("%Y-%m-%dT%H:%M:%SZ")
        end = (when + LOG_WINDOW_AFTER).strftime("%Y-%m-%dT%H:%M:%SZ")
        window = [opt("--start-time", start), opt("--end-time", end)]
    return _in_region(
        alert,
        "rds",
        "describe-events",
        opt("--source-type", source_type),
        opt("--source-identifier", identifier),
        *window,
    )


def _elb_arn(alert: Alert, dimension_value: str) -> str | None:
    if dimension_value.startswith("arn:"):
        return dimension_value
    if not alert.account_id:
        return None
    prefix = "" if dimension_value.startswith("targetgroup/") else "loadbalancer/"
    return f"arn:aws:elasticloadbalancing:{_region(alert)}:{alert.account_id}:{prefix}{dimension_value}"


def _target_group_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    group = (_alarm(alert).dimensions or {}).get("TargetGroup") or _target(alert, "target_group")
    arn = _elb_arn(alert, group) if group else None
    if arn is None:
        return []
    return [_in_region(alert, "elbv2", "describe-target-health", opt("--target-group-arn", arn, ValueKind.ARN))]


def _load_balancer_diagnostics(namespace: str) -> Callable[[Alert, datetime | None], list[BuiltCommand]]:
    def diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
        if _namespace(alert) != namespace:
            return []
        balancer = (_alarm(alert).dimensions or {}).get("LoadBalancer")
        arn = _elb_arn(alert, balancer) if balancer else None
        if arn is None:
            return []
        commands = [
            _in_region(alert, "elbv2", "describe-target-groups", opt("--load-balancer-arn", arn, ValueKind.ARN)),
            _in_region(alert, "elbv2", "describe-listeners", opt("--load-balancer-arn", arn, ValueKind.ARN)),
        ]
        return commands

    return diagnostics


def _asg_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    name = _asg_name(alert)
    if name is None:
        return []
    return [
        _in_region(
            alert, "autoscaling", "describe-scaling-activities", opt("--auto-scaling-group-name", name), max_items=10
        ),
        _in_region(alert, "autoscaling", "describe-auto-scaling-groups", opt("--auto-scaling-group-names", [name])),
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


def _resource_detector(detect: Callable[[Alert, resource_rules.FactLookup], resource_rules.Verdict | None]) -> Detector:
    """A detector of `functions.analyze.resource_rules` (ECS, Step Functions, API Gateway) as one of this module."""

    def run(alert: Alert, facts: Facts) -> Finding | None:
        verdict = detect(alert, facts.get)
        if verdict is None:
            return None
        return Finding(
            root_cause=verdict.root_cause,
            confidence=verdict.confidence,
            evidence_keys=verdict.evidence_keys,
            recommendations=verdict.recommendations,
            diagnostics=verdict.diagnostics,
        )

    return run


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
    who = f"The application {alert.resource.name}" if alert.resource and alert.resource.name else "The application"
    sentence = f"{who} reported an error: {_clean(alert.summary or alert.title)}"
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


# The cost detectors, most specific first: budgets, cost anomalies and billing alarms (`_billing_alarm`).
COST_DETECTORS: tuple[Detector, ...] = (
    _cost_resource,
    _cost_anomaly,
    _lambda_storm_cost,
    _steady_spend,
    _cost_mover,
    _cost_top_service,
)
# Per source (`functions.shared.registry`, `rules`): the detectors, most specific first; the first finding wins.
RULES: dict[str, tuple[Detector, ...]] = {
    "cost": COST_DETECTORS,
    "alarm": (
        _alarm_no_longer_firing,
        _billing_alarm,
        _false_alarm,
        _likely_noise,
        _lb_no_healthy_targets,
        _db_storage_full,
        _db_connections_exhausted,
        _asg_cannot_scale,
        _asg_cpu_saturation,
        _db_outage_event,
        _db_cpu_credits,
        _db_cpu_saturation,
        _lb_targets_unhealthy,
        _lb_5xx_origin,
        _lb_slow_targets,
        _status_check,
        *(_resource_detector(detect) for detect in resource_rules.DETECTORS),
        _queue_consumer_stall,
        _dead_letter_arrivals,
        _queue_backlog,
        _dynamodb_throttling,
        _lambda_out_of_memory,
        _throttled_at_limit,
        _failing_after_recorded_change,
        _errors_after_change,
        _invocation_spike,
        _cpu_saturation,
        _errors_with_logs,
        *(_resource_detector(detect) for detect in rules_generic.DETECTORS),
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


def effective_alert(alert: Alert, facts: Facts) -> Alert:
    """The alert the rules explain: a composite alarm is explained through its first child in ALARM (the resource
    and metric the compute stage followed, `investigate.composite`), so its playbook is that child's; any other
    alert is itself."""
    alarm = alert.details_of(CloudWatchAlarmDetails)
    child = facts.get("compute.child_alarm.firing")
    if alarm is None or alarm.alarm_kind != "composite" or child is None or child.resource is None:
        return alert
    spec = next((t for t in RESOURCE_TYPES if t.cfn_type == child.resource.type and t.namespace), None)
    metric = facts.get("compute.alarm_metric")
    if spec is None or metric is None:
        return alert
    details = alarm.model_copy(
        update={
            "namespace": spec.namespace,
            "metric_name": metric.subject,
            "dimensions": {spec.dimensions[0]: child.resource.name or ""},
            "threshold": metric.numbers.threshold if metric.numbers else None,
        }
    )
    return alert.model_copy(update={"resource": child.resource, "details": details})


def _finding(alert: Alert, facts: Facts) -> Finding:
    alert = effective_alert(alert, facts)
    spec = source_spec(alert.source)
    for detect in RULES[spec.rules]:
        found = detect(alert, facts)
        if found is not None:
            return _with_noise_note(found, facts)
    return _with_noise_note(NEXT_STEPS[spec.next_steps](alert, facts), facts)


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
    "rds_instance": _rds_diagnostics,
    "rds_cluster": _rds_cluster_diagnostics,
    "target_group": _target_group_diagnostics,
    "alb": _load_balancer_diagnostics("AWS/ApplicationELB"),
    "nlb": _load_balancer_diagnostics("AWS/NetworkELB"),
    "auto_scaling_group": _asg_diagnostics,
    "ecs_service": resource_rules.ecs_service_diagnostics,
    "ecs_cluster": resource_rules.ecs_cluster_diagnostics,
    "state_machine": resource_rules.state_machine_diagnostics,
    "rest_api": resource_rules.rest_api_diagnostics,
    "http_api": resource_rules.http_api_diagnostics,
    "nat_gateway": _nat_gateway_diagnostics,
    "log_group": _log_group_diagnostics,
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
                root_cause=f"{alert.title} (the rule-based analysis could not read the context).",
                confidence="low",
                verdict="unknown",
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
        verdict=finding.verdict,
        evidence=_evidence(finding, facts, context),
        diagnostics=diagnostics[:6],
        recommendations=finding.recommendations[:4],
        unknowns=_unknowns(context) + refused,
    )
