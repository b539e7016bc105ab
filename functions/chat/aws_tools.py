"""The chat tools over the real (or simulated) account: thin wrappers of `functions.shared.investigate`.

Every tool calls the same investigation functions the gather stages use (same reads, same bounds, same
caching), so the bot and the alert pipeline never disagree about the account. A tool's answer is its evidence's
facts and notes, one line each.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field

from functions.chat.agents import roster
from functions.chat.tools import ChatTool, ToolBox, ToolFinding, ToolInput
from functions.shared.adapters.budgets import BudgetsReader
from functions.shared.adapters.cloudtrail import CloudTrailReader
from functions.shared.adapters.cloudwatch import CloudWatchReader
from functions.shared.adapters.compute import Ec2Reader, LambdaReader
from functions.shared.adapters.cost_explorer import CostExplorerReader
from functions.shared.adapters.logs import LogsReader
from functions.shared.investigate.base import Evidence, number, signed_percent
from functions.shared.investigate.changes import ChangeSubject, secrets_named_by, what_changed_evidence
from functions.shared.investigate.cost import budget_evidence, cost_trend, cost_trend_evidence
from functions.shared.investigate.logs import log_error_evidence
from functions.shared.investigate.metrics import lambda_movers, related_metrics_evidence
from functions.shared.investigate.resources import ec2_instance_evidence, lambda_function_evidence
from functions.shared.investigate.target import Target
from functions.shared.settings import get_settings

# Bounds on what the model may ask for.
MAX_LOOKBACK_HOURS = 72
MAX_LOG_LOOKBACK_MINUTES = 24 * 60
LOGS_MAX_WAIT_SECONDS = 8.0
PATTERN_MAX_CHARS = 100
PATTERN_ROWS = 20


def _now() -> datetime:
    return datetime.now(UTC)


def _region(asked: str | None = None) -> str:
    """The region to read in: the one the question is about (the alert's), else the bot's own."""
    return asked or get_settings().aws_region


class RegionalInput(ToolInput):
    """A tool that reads one region: the alert's region when the question is about an alert elsewhere."""

    region: str | None = Field(
        default=None,
        pattern=r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$",
        description="The AWS region to read, e.g. eu-west-1: the alert's region when it names one; default the "
        "bot's own region",
    )


def finding(title: str, evidence: Evidence) -> ToolFinding:
    """Evidence as a tool finding: facts, then notes, one line each; failed when nothing could be read."""
    lines = [fact.text for fact in evidence.facts]
    lines.extend(f"Note: {note}" for note in evidence.notes)
    failed = not evidence.facts and bool(evidence.missing_permissions or evidence.failures)
    return ToolFinding(
        tool="",
        ok=not failed,
        title=title,
        lines=lines,
        data={"looked_at": evidence.looked_at[:4]},
        error="; ".join([*evidence.failures, *(f"missing {p}" for p in evidence.missing_permissions)])[:300]
        if failed
        else None,
    )


def _log_group(function_name: str | None, log_group: str | None) -> str | None:
    if log_group:
        return log_group
    return f"/aws/lambda/{function_name}" if function_name else None


# --- Cost --------------------------------------------------------------------------------------------------------


class NoInput(ToolInput):
    pass


class ListFunctionsInput(RegionalInput):
    pass


class BudgetInput(ToolInput):
    budget_name: str | None = Field(default=None, description="A budget's name; default: the most-used budget")


def _cost_by_service(_: NoInput) -> ToolFinding:
    evidence = Evidence()
    trend = evidence.read("Cost Explorer", lambda: cost_trend(CostExplorerReader(), today=_now().date()))
    if trend is not None:
        evidence.add(cost_trend_evidence(trend))
    return finding("Cost by service (Cost Explorer, last 14 days)", evidence)


def _budget_evidence(budget_name: str | None) -> Evidence:
    evidence = Evidence()
    today = _now().date()
    trend = evidence.read("Cost Explorer month to date", lambda: cost_trend(CostExplorerReader(), today=today))
    month_to_date = trend.month_to_date if trend is not None and trend.month_to_date else None
    return evidence.add(
        budget_evidence(
            BudgetsReader(), account_id=None, budget_name=budget_name, month_to_date=month_to_date, today=today
        )
    )


def _budgets_status(args: BudgetInput) -> ToolFinding:
    return finding("Budget status (AWS Budgets)", _budget_evidence(args.budget_name))


def _cost_forecast(args: BudgetInput) -> ToolFinding:
    evidence = _budget_evidence(args.budget_name)
    evidence.facts = [f for f in evidence.facts if f.key in {"cost.forecast", "cost.month_to_date"}]
    return finding("Forecast to month end", evidence)


# --- Compute -----------------------------------------------------------------------------------------------------


def _list_lambda_functions(args: ListFunctionsInput) -> ToolFinding:
    region = _region(args.region)
    evidence = Evidence()
    evidence.looked_at.append(f"Lambda functions in {region} and their invocations, last 24 h vs the 24 h before")
    movers = evidence.read(
        "Lambda invocations",
        lambda: lambda_movers(CloudWatchReader(region=region), LambdaReader(region=region), now=_now(), limit=50),
    )
    result = finding("Lambda functions by invocation growth", evidence)
    for mover in (movers or [])[:10]:
        result.lines.append(
            f"{mover.function_name}: {number(mover.last_24h)} invocations in the last 24 h vs "
            f"{number(mover.previous_24h)} the 24 h before ({signed_percent(mover.change_percent)})"
        )
    if movers == []:
        result.lines.append("No Lambda function was invoked in the last 48 hours.")
    return result


def _comparison_window(now: datetime, hours: int) -> dict[str, Any]:
    """The last `hours` (peak) against the `hours` before them (baseline), as `related_metrics_evidence` takes it:
    it reads [at - before, at] and splits at `at - after`."""
    return {
        "at": now,
        "now": now,
        "before": timedelta(hours=2 * hours),
        "after": timedelta(hours=hours),
        "period_seconds": 3600 if hours >= 6 else 300,
    }


class LambdaInput(RegionalInput):
    function_name: str = Field(min_length=1, max_length=140, description="The Lambda function's name")
    hours: int = Field(
        default=24, ge=1, le=MAX_LOOKBACK_HOURS, description="Compare the last N hours with the N hours before"
    )


def _lambda_metrics(args: LambdaInput) -> ToolFinding:
    now, region = _now(), _region(args.region)
    target = Target(
        kind="lambda", name=args.function_name, namespace="AWS/Lambda", dimension="FunctionName", region=region
    )
    evidence = lambda_function_evidence(LambdaReader(region=region), args.function_name, now=now, region=region)
    metrics, _ = related_metrics_evidence(
        CloudWatchReader(region=region), target, **_comparison_window(now, args.hours)
    )
    return finding(f"Lambda {args.function_name}: configuration and metrics", evidence.add(metrics))


class Ec2Input(RegionalInput):
    instance_id: str = Field(pattern=r"^i-[0-9a-f]{8,17}$", description="The EC2 instance id, e.g. i-0abc1234def567890")
    hours: int = Field(default=6, ge=1, le=MAX_LOOKBACK_HOURS)


def _ec2_instance(args: Ec2Input) -> ToolFinding:
    now, region = _now(), _region(args.region)
    evidence = ec2_instance_evidence(Ec2Reader(region=region), args.instance_id, now=now, region=region)
    target = Target(kind="ec2", name=args.instance_id, namespace="AWS/EC2", dimension="InstanceId", region=region)
    metrics, _ = related_metrics_evidence(
        CloudWatchReader(region=region), target, **_comparison_window(now, args.hours)
    )
    return finding(f"EC2 {args.instance_id}: state, status checks and metrics", evidence.add(metrics))


# --- What changed ----------------------------------------------------------------------------------------------

# Names CloudTrail records resources by: AWS resource names and ARNs (letters, digits and . _ : / @ + = -).
_RESOURCE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/@+=-]{0,255}$"
# CloudWatch alarm names may hold almost any printable character, but not control characters.
_ALARM_NAME_PATTERN = r"^[^\x00-\x1f\x7f]{1,255}$"


class ChangesInput(RegionalInput):
    resource_name: str = Field(
        pattern=_RESOURCE_NAME_PATTERN,
        description="The resource's name or ARN (a function, queue, table, instance, cluster, load balancer, ...)",
    )
    alarm_name: str | None = Field(
        default=None, pattern=_ALARM_NAME_PATTERN, description="The CloudWatch alarm, to see if it was redefined"
    )
    hours: int = Field(default=24, ge=1, le=MAX_LOOKBACK_HOURS, description="How far back to look")


def _short_name(resource: str) -> str:
    """`arn:aws:lambda:…:function:Checkout` -> `Checkout`; a name stays as it is."""
    if not resource.startswith("arn:"):
        return resource
    return resource.split(":", 5)[-1].rsplit("/", 1)[-1].rsplit(":", 1)[-1] or resource


def _recent_changes(args: ChangesInput) -> ToolFinding:
    now, region = _now(), _region(args.region)
    name = _short_name(args.resource_name)
    subjects = [ChangeSubject(name=name)]
    if args.alarm_name:
        subjects.append(ChangeSubject(name=args.alarm_name, is_alarm=True))
    # A function's secrets change its behaviour without a write to the function itself.
    evidence = Evidence()
    configuration = evidence.read(f"Lambda {name}", lambda: LambdaReader(region=region).function(name))
    if configuration:
        subjects.extend(secrets_named_by(name, (configuration.get("Environment") or {}).get("Variables") or {}))
    changes = what_changed_evidence(
        CloudTrailReader(region=region),
        subjects,
        at=None,
        now=now,
        lookback=timedelta(hours=args.hours),
        region=region,
    )
    return finding(f"Recorded changes to {name} in the last {args.hours} h (CloudTrail)", changes)


# --- Logs --------------------------------------------------------------------------------------------------------


class LogErrorsInput(RegionalInput):
    function_name: str | None = Field(default=None, max_length=140, description="A Lambda function's name")
    log_group: str | None = Field(default=None, max_length=512, description="A log group name (instead)")
    minutes: int = Field(default=60, ge=5, le=MAX_LOG_LOOKBACK_MINUTES, description="How far back to look")


def _log_errors(args: LogErrorsInput) -> ToolFinding:
    group = _log_group(args.function_name, args.log_group)
    if group is None:
        return ToolFinding(tool="", ok=False, error="name a function_name or a log_group")
    now, region = _now(), _region(args.region)
    evidence = log_error_evidence(
        LogsReader(region=region),
        group,
        start=now - timedelta(minutes=args.minutes),
        end=now,
        max_wait_seconds=LOGS_MAX_WAIT_SECONDS,
        region=region,
    )
    return finding(f"Errors in {group} (Logs Insights, last {args.minutes} min)", evidence)


class LogSearchInput(LogErrorsInput):
    pattern: str = Field(min_length=1, max_length=PATTERN_MAX_CHARS, description="Text the log lines contain")


def insights_search_query(pattern: str) -> str:
    """A Logs Insights query for lines containing `pattern` literally (quotes and pipes cannot end the string)."""
    literal = "".join(ch for ch in pattern if ch not in '"\\|\r\n')[:PATTERN_MAX_CHARS]
    return (
        f'fields @timestamp, @message | filter @message like "{literal}" | sort @timestamp desc | limit {PATTERN_ROWS}'
    )


def _log_pattern_search(args: LogSearchInput) -> ToolFinding:
    group = _log_group(args.function_name, args.log_group)
    if group is None:
        return ToolFinding(tool="", ok=False, error="name a function_name or a log_group")
    now, region = _now(), _region(args.region)
    query = insights_search_query(args.pattern)
    evidence = Evidence(looked_at=[f"Logs Insights search in {group}, last {args.minutes} min"])
    result = evidence.read(
        f"Logs Insights query on {group}",
        lambda: LogsReader(region=region).insights_query(
            [group], query, now - timedelta(minutes=args.minutes), now, max_wait_seconds=LOGS_MAX_WAIT_SECONDS
        ),
    )
    found = finding(f"Lines containing {args.pattern!r} in {group}", evidence)
    if result is not None:
        rows = result.rows
        found.lines.append(f"{len(rows)} matching line(s) (newest first, at most {PATTERN_ROWS})")
        found.lines.extend(f"{row.get('@timestamp', '')} {row.get('@message', '')[:200]}" for row in rows[:10])
    return found


def all_tools() -> list[ChatTool]:
    return [
        ChatTool(
            roster.COST_BY_SERVICE,
            "Daily AWS cost by service for the last 14 days from Cost Explorer: top movers day over day, the usage "
            "type behind the top mover, account total, top services.",
            NoInput,
            _cost_by_service,
        ),
        ChatTool(
            roster.BUDGETS_STATUS,
            "AWS Budgets: month-to-date spend against a budget's limit, and the forecast to month end.",
            BudgetInput,
            _budgets_status,
        ),
        ChatTool(
            roster.COST_FORECAST,
            "Forecast of this month's total cost (the budget's forecast, else a straight line from month to date).",
            BudgetInput,
            _cost_forecast,
        ),
        ChatTool(
            roster.LIST_LAMBDA_FUNCTIONS,
            "Lambda functions in the account with invocations in the last 24 hours vs the 24 hours before, "
            "largest growth first.",
            ListFunctionsInput,
            _list_lambda_functions,
        ),
        ChatTool(
            roster.LAMBDA_METRICS,
            "One Lambda function's configuration (runtime, memory, timeout, reserved concurrency, last change) and "
            "its CloudWatch metrics (Invocations, Errors, Throttles, Duration p99, ConcurrentExecutions): recent "
            "peak vs the earlier baseline.",
            LambdaInput,
            _lambda_metrics,
        ),
        ChatTool(
            roster.EC2_INSTANCE,
            "One EC2 instance's state, type, status checks and CloudWatch metrics (CPU, status checks, network).",
            Ec2Input,
            _ec2_instance,
        ),
        ChatTool(
            roster.RECENT_CHANGES,
            "What changed on a resource: CloudTrail's recorded write calls on it (who, which API, when, the changed "
            "settings), its alarm's redefinitions, and changes to the secrets a function's environment names. "
            "Use it for 'what changed', 'was anything deployed', 'who modified'.",
            ChangesInput,
            _recent_changes,
        ),
        ChatTool(
            roster.LOG_ERRORS,
            "Error lines in a Lambda function's log group (or any log group) via CloudWatch Logs Insights, grouped "
            "into patterns with counts and first/last seen.",
            LogErrorsInput,
            _log_errors,
        ),
        ChatTool(
            roster.LOG_PATTERN_SEARCH,
            "Search a log group for lines containing a text (Logs Insights), newest first.",
            LogSearchInput,
            _log_pattern_search,
        ),
    ]


def default_toolbox() -> ToolBox:
    """Every read-only tool over the real (or moto-simulated) AWS account."""
    return ToolBox(all_tools())
