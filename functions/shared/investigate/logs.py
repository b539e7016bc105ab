"""Log evidence: error lines from Logs Insights, grouped by message pattern with counts and first/last seen."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from pydantic import BaseModel

from functions.shared import console_links
from functions.shared.adapters.logs import LogsReader
from functions.shared.investigate.base import Evidence, hhmm
from functions.shared.investigate.log_lines import shorten_line
from functions.shared.models import Fact

# What an error line contains. Lambda's own lines count: "Task timed out", a REPORT line's "Status: timeout" or
# "Error Type: Runtime.OutOfMemory", "Runtime.ExitError"; so do OutOfMemory kills and PostgreSQL's "FATAL:".
ERROR_PATTERN = (
    r"(?i)(error|exception|traceback|fail|fatal|panic|timed out|timeout|throttl|denied|refused|out of memory|"
    r"outofmemory|oomkilled|runtime\.[a-z]+|status: timeout)"
)
_ERROR_RE = re.compile(ERROR_PATTERN)
MAX_ROWS = 500
MAX_PATTERNS = 5

# Variable parts of a log line, so "took 31 ms for req 5f0c..." and "took 12 ms for req 9a1b..." group together.
_VARIABLE_PARTS = [
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?\b"), "<time>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<id>"),
    (re.compile(r"\b(?:0x)?[0-9a-f]{12,}\b", re.I), "<hex>"),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"), "<ip>"),
    (re.compile(r"\d+(?:\.\d+)?"), "<n>"),
]


def error_query(lookback_limit: int = MAX_ROWS) -> str:
    """The Logs Insights query: the newest error-like lines first."""
    return (
        "fields @timestamp, @message, @logStream"
        f" | filter @message like /{ERROR_PATTERN}/"
        " | sort @timestamp desc"
        f" | limit {lookback_limit}"
    )


def message_pattern(message: str) -> str:
    """The message with its variable parts (times, ids, numbers, addresses) replaced by placeholders."""
    pattern = " ".join(message.split())
    for regex, placeholder in _VARIABLE_PARTS:
        pattern = regex.sub(placeholder, pattern)
    return pattern[:300]


class LogPattern(BaseModel):
    pattern: str
    example: str  # the newest line of this pattern, shortened around its error (`log_lines.shorten_line`)
    count: int
    first_seen: datetime
    last_seen: datetime


def group_errors(rows: list[dict[str, str]]) -> list[LogPattern]:
    """Group error rows by pattern, most frequent first.

    The error filter is applied again here: some backends (moto) ignore a query's `filter`; on AWS it is a no-op.
    """
    groups: dict[str, LogPattern] = {}
    for row in rows:
        message = (row.get("@message") or "").strip()
        if not message or not _ERROR_RE.search(message):
            continue
        at = _timestamp(row.get("@timestamp"))
        if at is None:
            continue
        key = message_pattern(message)
        group = groups.get(key)
        if group is None:
            groups[key] = LogPattern(pattern=key, example=shorten_line(message), count=1, first_seen=at, last_seen=at)
            continue
        group.count += 1
        if at < group.first_seen:
            group.first_seen = at
        if at > group.last_seen:
            group.last_seen, group.example = at, shorten_line(message)
    return sorted(groups.values(), key=lambda g: (-g.count, g.first_seen))


def _timestamp(value: str | None) -> datetime | None:
    """Logs Insights returns "2026-11-25 19:02:03.123"; some backends return epoch milliseconds."""
    if not value:
        return None
    if value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def log_error_evidence(
    logs: LogsReader,
    log_group: str,
    *,
    start: datetime,
    end: datetime,
    max_wait_seconds: float,
    region: str | None,
) -> Evidence:
    """Error lines of `log_group` in [start, end], grouped by pattern: a summary fact, then one per pattern."""
    evidence = Evidence()
    query = error_query()
    window = f"{hhmm(start)} to {hhmm(end)} UTC"
    evidence.looked_at.append(f"Logs Insights errors in {log_group}, {window}")
    exists = evidence.read(f"log group {log_group}", lambda: logs.log_group_exists(log_group))
    if exists is None:
        return evidence
    if not exists:
        evidence.notes.append(f"Log group {log_group} does not exist: the resource has never logged here.")
        return evidence
    result = evidence.read(
        f"Logs Insights query on {log_group}",
        lambda: logs.insights_query([log_group], query, start, end, max_wait_seconds=max_wait_seconds),
    )
    if result is None:
        return evidence
    lookback = max(60, int((datetime.now(UTC) - start).total_seconds()))
    link = console_links.logs_insights_url([log_group], query, region, lookback_seconds=lookback)
    if result.status == "TimedOutHere":
        evidence.notes.append(f"The Logs Insights query did not finish within {max_wait_seconds:.0f} s; partial rows.")
    elif not result.complete:
        evidence.notes.append(f"The Logs Insights query ended with status {result.status}.")
    patterns = group_errors(result.rows)
    total = sum(p.count for p in patterns)
    if not patterns:
        evidence.facts.append(
            Fact(key="logs.error_count", text=f"No error lines in {log_group} from {window}", value=0, link=link)
        )
        return evidence
    capped = " (query limit reached: more may exist)" if len(result.rows) >= MAX_ROWS else ""
    evidence.facts.append(
        Fact(
            key="logs.error_count",
            text=f"{total} error lines in {log_group} from {window}, {len(patterns)} distinct pattern(s){capped}",
            value=total,
            link=link,
        )
    )
    for index, pattern in enumerate(patterns[:MAX_PATTERNS], start=1):
        evidence.facts.append(
            Fact(
                key=f"logs.pattern.{index}",
                text=(
                    f"{pattern.count}x {pattern.example} "
                    f"(first {hhmm(pattern.first_seen)}, last {hhmm(pattern.last_seen)} UTC)"
                ),
                value=pattern.count,
                link=link,
            )
        )
    if len(patterns) > MAX_PATTERNS:
        rest = sum(p.count for p in patterns[MAX_PATTERNS:])
        evidence.notes.append(f"{len(patterns) - MAX_PATTERNS} rarer pattern(s) ({rest} lines) not listed.")
    return evidence
