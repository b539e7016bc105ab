"""DynamoDB tables: throttling, by its mechanism (at capacity, a hot key, on-demand past its peak),
named as the cause of a neighbour's failure only when the neighbour's logs show the throttled calls.
"""

from __future__ import annotations

import re
from datetime import datetime

from functions.analyze.rules.commands import alert_target, in_region
from functions.analyze.rules.facts import Facts, Finding, alert_resource_name, as_clause, log_summary
from functions.shared.aws_commands import BuiltCommand, opt
from functions.shared.models import Alert


def dynamodb_throttling(alert: Alert, facts: Facts) -> Finding | None:
    throttling = facts.get("compute.dynamodb_throttling")
    if throttling is None:
        return None
    table = throttling.subject or alert_resource_name(alert)
    mechanism = str(throttling.value or "unknown")
    logs = log_summary(facts)
    # A table next to the failing resource throttles, but nothing ties its errors to the table: another cause.
    unrelated = throttling.via is not None and not (logs and _THROTTLED_CALL.search(logs))
    if unrelated and (facts.get("compute.recent_change") is not None or mechanism != "at_capacity"):
        return None
    sentence = f"DynamoDB table {table} is throttling: {as_clause(throttling.text)}"
    if throttling.via is not None:
        sentence = f"{alert_resource_name(alert)} fails because its {throttling.via.split(' named in ')[0]} throttles: "
        sentence += as_clause(throttling.text)
    if logs:
        sentence += f"; {logs}"
    config = facts.get("compute.table_config")
    if config is not None:
        sentence += f"; {as_clause(config.text)}"
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
        diagnostics=[in_region(alert, "dynamodb", "describe-table", opt("--table-name", table))],
    )


_THROTTLED_CALL = re.compile(r"ProvisionedThroughputExceeded|ThrottlingException|RequestLimitExceeded|throttl", re.I)


def dynamodb_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    table = alert_target(alert, "dynamodb")
    return [in_region(alert, "dynamodb", "describe-table", opt("--table-name", table))] if table else []
