"""Cost: from the bill to the resource behind it (`compute.cost_resource.<kind>`, per billing mechanism),
and a flat bill that only reached its threshold.

Each billing mechanism (NAT data processing, log ingestion, S3, EC2 hours) has its own playbook: what its top
resource means, what to do about it and which read-only commands show it; never another mechanism's advice.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from functions.analyze.rules.commands import alert_target, diagnostics_moment, in_region
from functions.analyze.rules.facts import Facts, Finding, as_clause, log_summary
from functions.shared.aws_commands import BuiltCommand, ValueKind, build_command, opt
from functions.shared.investigate.usage_mechanisms import Mechanism, anomaly_usage, mechanisms_for
from functions.shared.models import Alert, Fact

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
        in_region(
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
    commands = [in_region(alert, "ec2", "describe-nat-gateways", opt("--nat-gateway-ids", [nat]))]
    vpc = _VPC_ID.search(top.text)
    if vpc is not None:
        commands.append(
            in_region(
                alert,
                "ec2",
                "describe-vpc-endpoints",
                opt("--filters", [f"Name=vpc-id,Values={vpc.group(0)}"], ValueKind.SHORTHAND),
            )
        )
        commands.append(
            in_region(
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
        in_region(alert, "logs", "describe-log-groups", opt("--log-group-name-prefix", group, ValueKind.LOG_GROUP)),
        *_metric_statistics(alert, "AWS/Logs", "IncomingBytes", {"LogGroupName": group}, when),
        in_region(alert, "logs", "describe-subscription-filters", name),
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
        in_region(
            alert,
            "ec2",
            "describe-instances",
            opt(
                "--filters",
                [f"Name=instance-type,Values={instance_type}", "Name=instance-state-name,Values=running"],
                ValueKind.SHORTHAND,
            ),
        ),
        in_region(alert, "autoscaling", "describe-auto-scaling-groups", max_items=20),
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


def mechanism_advice(causes: list[tuple[str | None, str | None]], fact: Fact) -> list[str] | None:
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


def step_words(facts: Facts) -> str | None:
    """The cost's shape when it is a step or creep ("... stepped up on Nov 21 and stayed: ..."), else None."""
    onset = facts.get("cost.onset")
    if onset is None or onset.value not in ("step_up", "creep"):
        return None
    return as_clause(onset.text)


def cost_resource(alert: Alert, facts: Facts) -> Finding | None:
    billed = _billed_mechanisms(alert, facts)
    for kind, playbook in COST_MECHANISM_PLAYBOOKS.items():
        top = facts.get(f"compute.cost_resource.{kind}")
        if top is None or (billed is not None and playbook.mechanism not in billed):
            continue
        sentence = f"{playbook.what}: {as_clause(top.text)}"
        cause = facts.get("cost.anomaly_root_cause.1")
        usage = facts.get("cost.top_usage_type")
        if cause is not None:
            sentence += f"; the anomaly names {as_clause(cause.text.replace('Anomaly root cause 1: ', ''))}"
        elif usage is not None:
            sentence += f"; the bill shows it as {as_clause(usage.text.replace('Driven by usage type ', ''))}"
        writer = next(
            (fact for fact, _ in facts.by_key.values() if fact.via and top.subject and top.subject in fact.via), None
        )
        if writer is not None:
            sentence += f"; what writes it: {as_clause(writer.text)}"
        step = step_words(facts)
        if step:
            sentence += f"; {step}"
        budget = facts.get("cost.budget_period")
        if budget is not None:
            sentence += f"; {as_clause(budget.text)}"
        logs = log_summary(facts)
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
            diagnostics=playbook.diagnostics(alert, top, facts, diagnostics_moment(alert, None)),
        )
    return None


def steady_spend(alert: Alert, facts: Facts) -> Finding | None:
    """A flat bill: the threshold was reached by the usual spend, not by anything new. Said as such."""
    steady = facts.get("cost.steady")
    if steady is None or facts.keys("compute.cost_resource.") or facts.get("compute.lambda_mover") is not None:
        return None
    sentence = f"No sign of a cost problem: nothing new is being billed. {as_clause(steady.text)}"
    budget = facts.get("cost.budget_period") or facts.get("cost.month_to_date")
    if budget is not None:
        sentence += f"; {as_clause(budget.text)}"
    forecast = facts.get("cost.forecast")
    if forecast is not None and facts.get("cost.budget_period") is None:
        sentence += f"; {as_clause(forecast.text)}"
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


def nat_gateway_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    nat = alert_target(alert, "nat_gateway")
    if nat is None:
        return []
    return [in_region(alert, "ec2", "describe-nat-gateways", opt("--nat-gateway-ids", [nat]))]


def log_group_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    group = alert_target(alert, "log_group")
    if group is None:
        return []
    return [in_region(alert, "logs", "describe-log-groups", opt("--log-group-name-prefix", group, ValueKind.LOG_GROUP))]
