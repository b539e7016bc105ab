"""Log context for an alert: error lines from Logs Insights in the implicated log group, grouped by pattern.

The log group: the implicated Lambda function's `/aws/lambda/<name>`, or,
for budget and cost-anomaly alerts, that of the Lambda function whose invocations grew most (the cost drill).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from functions.shared.adapters.cloudwatch import CloudWatchReader
from functions.shared.adapters.compute import LambdaReader
from functions.shared.adapters.logs import LogsReader
from functions.shared.investigate.base import Evidence, budget_remaining, section_from, skipped_section, time_budget
from functions.shared.investigate.logs import log_error_evidence
from functions.shared.investigate.metrics import lambda_movers
from functions.shared.investigate.target import implicated_target
from functions.shared.models import Alert, ContextSection, StageInput
from functions.shared.settings import Settings

AFTER_ALERT = timedelta(minutes=15)
# Keep a little of the branch's time budget for shaping the section after the query.
QUERY_WAIT_MARGIN_SECONDS = 1.0


@dataclass
class LogReaders:
    logs: LogsReader
    cloudwatch: CloudWatchReader
    lambdas: LambdaReader

    @classmethod
    def default(cls, region: str | None = None) -> LogReaders:
        return cls(
            logs=LogsReader(region=region),
            cloudwatch=CloudWatchReader(region=region),
            lambdas=LambdaReader(region=region),
        )


def log_group_for(alert: Alert, readers: LogReaders, evidence: Evidence, now: datetime) -> str | None:
    """The log group to search, or None (with a note saying why)."""
    target = implicated_target(alert)
    if target is not None:
        if target.log_group:
            return target.log_group
        evidence.notes.append(f"No log group is known for {target.kind} {target.name}.")
        return None
    if alert.source == "custom" and alert.resource and alert.resource.name:
        return f"/aws/lambda/{alert.resource.name}"
    if alert.source in ("budget", "cost_anomaly"):
        movers = evidence.read(
            "Lambda invocations per function", lambda: lambda_movers(readers.cloudwatch, readers.lambdas, now=now)
        )
        if movers and movers[0].last_24h > movers[0].previous_24h:
            return f"/aws/lambda/{movers[0].function_name}"
        if movers is not None:
            evidence.notes.append("No Lambda function's invocations grew in the last 24 hours: no log group to search.")
        return None
    evidence.notes.append(f"A {alert.source} alert names no log group to search.")
    return None


def gather_logs(stage_input: StageInput, readers: LogReaders, *, now: datetime, settings: Settings) -> ContextSection:
    """The logs section for one alert.

    Raises:
        GatherThrottledError: Logs Insights throttled (incl. too many concurrent queries); the ASL retries.
    """
    started = time.monotonic()
    alert = stage_input.alert
    if stage_input.route == "heartbeat":
        return skipped_section("logs", "Heartbeat alert: no log context needed.", started=started)
    if alert.source in ("health", "security_hub", "guardduty", "unknown"):
        reason = f"No application log group is searched for a {alert.source} alert."
        return skipped_section("logs", reason, started=started)
    with time_budget(settings.gather_timeout_seconds):
        evidence = Evidence()
        log_group = log_group_for(alert, readers, evidence, now)
        if log_group is None:
            if evidence.missing_permissions or evidence.failures:
                return section_from("logs", evidence, started=started)
            return skipped_section("logs", " ".join(evidence.notes) or "No log group to search.", started=started)
        at = alert.occurred_at
        if alert.source in ("budget", "cost_anomaly") or at is None or at > now or now - at > timedelta(days=14):
            at = now
        start = at - timedelta(minutes=settings.logs_query_lookback_minutes)
        # A minute of slack so a line logged as the alert fired is never cut off by second-granular query times.
        end = min(now, at + AFTER_ALERT) + timedelta(minutes=1)
        remaining = budget_remaining() or settings.gather_timeout_seconds
        evidence.add(
            log_error_evidence(
                readers.logs,
                log_group,
                start=start,
                end=end,
                max_wait_seconds=max(1.0, remaining - QUERY_WAIT_MARGIN_SECONDS),
                region=alert.region,
            )
        )
    return section_from("logs", evidence, started=started)
