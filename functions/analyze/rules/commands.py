"""The building blocks of the read-only commands the rules suggest: the alert's region and resource of a
registered type, the moment the commands look around, and the log windows.

Every command is built by `functions.shared.aws_commands.build_command`, never pasted together.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from functions.analyze.rules.facts import alarm_details, alert_region
from functions.shared.aws_commands import BuiltCommand, Opt, ValueKind, build_command, flag, opt
from functions.shared.models import Alert
from functions.shared.registry import ResourceKind, resource_type

LOG_WINDOW_BEFORE = timedelta(hours=1)
LOG_WINDOW_AFTER = timedelta(minutes=15)
_LOG_ERROR_PATTERN = '?ERROR ?Exception ?"Task timed out" ?FATAL ?OutOfMemory ?"Runtime.ExitError"'


def in_region(alert: Alert, service: str, operation: str, *options: Opt, max_items: int | None = None) -> BuiltCommand:
    return build_command(service, operation, *options, region=alert_region(alert), max_items=max_items)


def account_arn(alert: Alert, service: str, resource: str) -> str | None:
    """`arn:aws:<service>:<alert's region>:<account>:<resource>`, when the alert names its account."""
    if not alert.account_id:
        return None
    return f"arn:aws:{service}:{alert_region(alert)}:{alert.account_id}:{resource}"


def event_source_mappings(alert: Alert, source_arn: str) -> BuiltCommand:
    """The Lambda consumers reading a queue or stream, with their state and batch settings."""
    return in_region(
        alert, "lambda", "list-event-source-mappings", opt("--event-source-arn", source_arn, ValueKind.ARN)
    )


def function_option(name: str) -> Opt:
    return opt("--function-name", name, ValueKind.LAMBDA_FUNCTION)


def alert_target(alert: Alert, kind: ResourceKind) -> str | None:
    """The alert's resource of the registered type `kind`, else the alarm's dimension naming one, else None."""
    spec = resource_type(kind)
    resource = alert.resource
    if resource and resource.type == spec.cfn_type and resource.name:
        return resource.name
    dimensions = alarm_details(alert).dimensions or {}
    return next((dimensions[d] for d in spec.dimensions if dimensions.get(d)), None)


def alert_instance_id(alert: Alert) -> str | None:
    return alert_target(alert, "ec2")


def alert_function_name(alert: Alert) -> str | None:
    return alert_target(alert, "lambda")


def function_log_group(function_name: str) -> str:
    """The function's log group: `/aws/lambda/<name>`, from a name, `name:qualifier` or ARN."""
    base = function_name.split(":function:", 1)[-1] if function_name.startswith("arn:") else function_name
    return "/aws/lambda/" + base.split(":", 1)[0]


def diagnostics_moment(alert: Alert, now: datetime | None) -> datetime | None:
    """The moment the diagnostics look around: when the alert happened, else when the analysis runs."""
    moment = alert.occurred_at or now
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def alert_asg_name(alert: Alert) -> str | None:
    return alert_target(alert, "asg")


def recent_errors(alert: Alert, log_group: str, when: datetime | None) -> BuiltCommand:
    """Error lines around the alert, between absolute times (portable: no `date -d`, no CLI v2-only `logs tail`)."""
    group = opt("--log-group-name", log_group, ValueKind.LOG_GROUP)
    if when is None:
        return in_region(
            alert,
            "logs",
            "describe-log-streams",
            group,
            opt("--order-by", "LastEventTime"),
            flag("--descending"),
            max_items=5,
        )
    return in_region(
        alert,
        "logs",
        "filter-log-events",
        group,
        opt("--start-time", epoch_ms(when - LOG_WINDOW_BEFORE), ValueKind.EPOCH_MS),
        opt("--end-time", epoch_ms(when + LOG_WINDOW_AFTER), ValueKind.EPOCH_MS),
        opt("--filter-pattern", _LOG_ERROR_PATTERN, ValueKind.PATTERN),
        max_items=50,
    )
