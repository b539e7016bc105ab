"""What a log group is busy logging: its most repeated messages, for a bill driven by log ingestion.

An ingestion spike is rarely an error: it is usually debug logging left on, or one line logged per request that
used to be logged per batch. So this reads every kind of line, not only errors: the newest lines (one bounded
Logs Insights query) grouped by message pattern, the most repeated first, with their share of the sample.
"""

from __future__ import annotations

from datetime import UTC, datetime

from functions.shared import console_links
from functions.shared.adapters.logs import LogsReader
from functions.shared.investigate.base import Evidence, hhmm
from functions.shared.investigate.logs import LogPattern, _timestamp, message_pattern
from functions.shared.models import Fact, Measurement

MAX_VOLUME_ROWS = 1000
MAX_VOLUME_PATTERNS = 3


def volume_query(limit: int = MAX_VOLUME_ROWS) -> str:
    """The newest lines of any kind (grouped by pattern afterwards: works wherever Logs Insights does)."""
    return f"fields @timestamp, @message | sort @timestamp desc | limit {limit}"


def group_messages(rows: list[dict[str, str]]) -> list[LogPattern]:
    """Every row grouped by its message pattern, the most repeated first."""
    groups: dict[str, LogPattern] = {}
    for row in rows:
        message = (row.get("@message") or "").strip()
        at = _timestamp(row.get("@timestamp"))
        if not message or at is None:
            continue
        key = message_pattern(message)
        group = groups.get(key)
        if group is None:
            groups[key] = LogPattern(pattern=key, example=message[:300], count=1, first_seen=at, last_seen=at)
            continue
        group.count += 1
        group.first_seen = min(group.first_seen, at)
        if at > group.last_seen:
            group.last_seen, group.example = at, message[:300]
    return sorted(groups.values(), key=lambda g: (-g.count, g.first_seen))


def log_volume_evidence(
    logs: LogsReader,
    log_group: str,
    *,
    start: datetime,
    end: datetime,
    max_wait_seconds: float,
    region: str | None,
    why: str,
) -> Evidence:
    """The most repeated messages of `log_group` among its newest lines in [start, end] (`logs.message.N`)."""
    evidence = Evidence()
    query = volume_query()
    window = f"{hhmm(start)} to {hhmm(end)} UTC"
    evidence.looked_at.append(f"Logs Insights most repeated lines in {log_group} ({why}), {window}")
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
    patterns = group_messages(result.rows)
    sampled = sum(p.count for p in patterns)
    if not patterns:
        evidence.notes.append(f"No lines in {log_group} from {window}.")
        return evidence
    for index, pattern in enumerate(patterns[:MAX_VOLUME_PATTERNS], start=1):
        share = pattern.count / sampled * 100
        evidence.facts.append(
            Fact(
                key=f"logs.message.{index}",
                text=(
                    f"{pattern.count} of the newest {sampled} lines in {log_group} ({share:.0f}%): "
                    f"{pattern.example[:140]} (first {hhmm(pattern.first_seen)}, last {hhmm(pattern.last_seen)} UTC)"
                ),
                value=pattern.count,
                subject=log_group,
                numbers=Measurement(value=pattern.count, baseline=sampled, unit="lines"),
                link=link,
            )
        )
    return evidence
