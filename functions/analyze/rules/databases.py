"""RDS instances and Aurora clusters: connections exhausted, storage running out, a failover or outage
event, burstable CPU credits used up, CPU saturation; and the database's commands (its description, its events).

Each mechanism has its own playbook: a database's CPU is never answered with EC2 status checks or Auto Scaling
advice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from functions.analyze.rules.commands import LOG_WINDOW_AFTER, alert_target, in_region
from functions.analyze.rules.fact_rule import FactRule
from functions.analyze.rules.facts import (
    CPU_SATURATED_PERCENT,
    Facts,
    Finding,
    alarm_details,
    alarm_namespace,
    alert_resource_name,
    as_clause,
    fact_text,
    metric_fact_text,
    metric_peak,
    rose,
)
from functions.shared.aws_commands import BuiltCommand, opt
from functions.shared.models import Alert, Fact

_DB_OUTAGE_EVENTS = {"failover", "failure", "availability", "recovery", "maintenance"}
# An older event did not cause this alert.
_OUTAGE_EVENT_WITHIN_MINUTES = 120
_EVENT_WINDOW_DIAGNOSTICS = timedelta(hours=6)


def _is_rds(alert: Alert) -> bool:
    return alarm_namespace(alert) == "AWS/RDS" or _db_identifier(alert) is not None


def _db_identifier(alert: Alert) -> tuple[str, str] | None:
    """("db-instance" | "db-cluster", identifier) of the alert's database, or None."""
    instance = alert_target(alert, "rds_instance")
    if instance:
        return "db-instance", instance
    cluster = alert_target(alert, "rds_cluster")
    return ("db-cluster", cluster) if cluster else None


def db_connections_exhausted(alert: Alert, facts: Facts) -> Finding | None:
    near = facts.get("compute.db_connections_near_max")
    if near is None:
        return None
    callers = facts.get("compute.db_callers")
    sentence = f"Database connections exhausted: {as_clause(near.text)}"
    invocations = facts.get("compute.metric.Invocations")
    concurrency = facts.get("compute.metric.ConcurrentExecutions")
    if callers is not None:
        sentence += f"; {as_clause(callers.text)}"
        numbers = callers.numbers
        if callers.subject and numbers is not None and numbers.value is not None and numbers.baseline is not None:
            if numbers.value >= 2 * max(numbers.baseline, 1):
                sentence += (
                    f"; the fan-out of {callers.subject} (up to {numbers.value:,.0f} concurrent executions, usually "
                    f"{numbers.baseline:,.0f}), each opening its own connection, exhausted them"
                )
        else:
            surge = next((f for f in (concurrency, invocations) if f is not None and rose(f)), None)
            if surge is not None:
                sentence += f", and its callers fanned out: {as_clause(surge.text)}"
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


def db_storage_full(alert: Alert, facts: Facts) -> Finding | None:
    low = facts.get("compute.db_storage_low")
    event = facts.get("compute.db_event")
    storage_event = event is not None and event.value == "low storage"
    if low is None and not storage_event:
        return None
    sentence = "The database is running out of storage"
    if low is not None:
        sentence += f": {as_clause(low.text)}"
    if storage_event:
        sentence += f"; {as_clause(event.text)}"  # type: ignore[union-attr]
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


def _recent_outage_event(alert: Alert, event: Fact) -> bool:
    """A database's outage event (a failover, a failure, maintenance) within two hours of the alert."""
    minutes = event.numbers.value if event.numbers else None
    recent = minutes is None or minutes <= _OUTAGE_EVENT_WITHIN_MINUTES
    return event.value in _DB_OUTAGE_EVENTS and _is_rds(alert) and recent


def _outage_event_cause(alert: Alert, event: Fact) -> str:
    metric = alarm_details(alert).metric_name or alert.alert_type
    name = alert_resource_name(alert)
    return f"An RDS {event.value} event explains the {metric} blip on {name}: {as_clause(event.text)}"


db_outage_event = FactRule(
    key="compute.db_event",
    applies=_recent_outage_event,
    cause=_outage_event_cause,
    context_keys=("compute.db_event.2",),
    evidence_keys=("compute.db_event", "compute.db_event.2", "compute.db_instance", "compute.db_cluster"),
    next_steps=(
        "Confirm the database is available again and the callers reconnected (connection errors should stop "
        "within minutes of the event).",
        "Make the callers retry on a dropped connection and resolve the endpoint's DNS again, so the next "
        "failover costs seconds, not errors.",
    ),
)


def db_cpu_credits(alert: Alert, facts: Facts) -> Finding | None:
    """A burstable database out of CPU credits: whatever the alarm (CPU, latency), the instance is throttled."""
    credits = facts.get("compute.db_cpu_credits_exhausted")
    if credits is None or not _is_rds(alert):
        return None
    metric = alarm_details(alert).metric_name or alert.alert_type
    sentence = f"CPU credits exhausted on database {alert_resource_name(alert)}: {as_clause(credits.text)}"
    shown = metric_fact_text(facts, alert, metric) if metric else None
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


def db_cpu_saturation(alert: Alert, facts: Facts) -> Finding | None:
    if not _is_rds(alert) or alarm_details(alert).metric_name != "CPUUtilization":
        return None
    peak = metric_peak(facts, alert, "CPUUtilization")
    if peak is None or peak < CPU_SATURATED_PERCENT:
        return None
    database = facts.get("compute.db_instance") or facts.get("compute.db_cluster")
    sentence = (
        f"CPU saturation on database {alert_resource_name(alert)}: {metric_fact_text(facts, alert, 'CPUUtilization')}"
    )
    connections = metric_fact_text(facts, alert, "DatabaseConnections")
    if connections:
        sentence += f"; {connections}"
    if database is not None:
        sentence += f"; {fact_text(database)}"
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


def rds_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    found = _db_identifier(alert)
    if found is None or found[0] != "db-instance":
        return []
    return [
        in_region(alert, "rds", "describe-db-instances", opt("--db-instance-identifier", found[1])),
        _rds_events_command(alert, found, when),
    ]


def rds_cluster_diagnostics(alert: Alert, when: datetime | None) -> list[BuiltCommand]:
    found = _db_identifier(alert)
    if found is None or found[0] != "db-cluster":
        return []
    return [
        in_region(alert, "rds", "describe-db-clusters", opt("--db-cluster-identifier", found[1])),
        _rds_events_command(alert, found, when),
    ]


def _rds_events_command(alert: Alert, found: tuple[str, str], when: datetime | None) -> BuiltCommand:
    source_type, identifier = found
    window = []
    if when is not None:
        start = (when - _EVENT_WINDOW_DIAGNOSTICS).strftime("%Y-%m-%dT%H:%M:%SZ")
        end = (when + LOG_WINDOW_AFTER).strftime("%Y-%m-%dT%H:%M:%SZ")
        window = [opt("--start-time", start), opt("--end-time", end)]
    return in_region(
        alert,
        "rds",
        "describe-events",
        opt("--source-type", source_type),
        opt("--source-identifier", identifier),
        *window,
    )
