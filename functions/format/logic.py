"""Turning an analysed alert into one Slack Block Kit message.

The message always fits Slack's limits, whatever the input: every part has a character budget, and if the whole
message is still larger than `TARGET_MESSAGE_BYTES` the budgets shrink and it is rendered again.

All text that came from the alert, the gather tools or the model is quoted data: it goes through
`functions.shared.slack_text` (`escape`, `safe`, `code_block`), so it cannot mention, link, format or hide characters,
the push-notification `text` and the plain_text header included. The only bold labels, code blocks and links in a
message are the ones written here; a detail key that reads like one of them (say "Root cause") is labelled as the
alert's own field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from aws_lambda_powertools.metrics import MetricUnit

from functions.shared import console_links
from functions.shared.chat_models import alert_context_from_pipeline
from functions.shared.models import (
    Alert,
    Analysis,
    ContextSection,
    FormatInput,
    FormatOutput,
    SlackMessage,
)
from functions.shared.observability import logger, metrics
from functions.shared.registry import ALL_SOURCES, alert_console_link, resource_console_link
from functions.shared.slack_text import clip, code_block, escape, link, one_line, safe
from functions.shared.untrusted_text import clean_text

# Slack's documented limits (Block Kit reference).
MAX_BLOCKS = 50
MAX_HEADER_CHARS = 150
MAX_SECTION_CHARS = 3000
MAX_FIELDS = 10
MAX_FIELD_CHARS = 2000
MAX_BUTTON_TEXT_CHARS = 75
MAX_BUTTON_URL_CHARS = 3000
MAX_CONTEXT_ELEMENTS = 10
MAX_FALLBACK_TEXT_CHARS = 3000
# Our own bound: a message an on-call engineer reads on a phone, far below Slack's payload limits.
TARGET_MESSAGE_BYTES = 12_000

SEVERITY_MARKERS = {"critical": "🔴 CRITICAL", "warning": "🟠 WARNING", "info": "🔵 INFO"}
HEARTBEAT_MARKER = "💚 HEARTBEAT"
HEARTBEAT_STATUS = {"ok": "✓", "skipped": "skipped", "error": "✗ failed"}
SOURCE_LABELS = {spec.source: spec.label for spec in ALL_SOURCES}  # one label per source, in the registry
SECTION_LABELS = {"cost": "Cost", "compute": "Compute", "logs": "Logs"}

# Detail keys shown first, in this order, with their labels; any other scalar detail follows with a derived label.
_PAIRS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "Actual vs budgeted",
        ("actual_amount", "actual_spend", "actual", "actual_cost"),
        ("budgeted_amount", "budget_limit", "budgeted", "limit_amount", "budget_amount"),
    ),
    (
        "Forecast vs budgeted",
        ("forecasted_amount", "forecast_amount", "forecast"),
        ("budgeted_amount", "budget_limit", "budgeted", "limit_amount", "budget_amount"),
    ),
    (
        "Value vs threshold",
        ("value", "state_value", "metric_value", "current_value", "observed_value", "datapoint"),
        ("threshold", "threshold_value"),
    ),
)
_HIDDEN_DETAILS = {"unit", "currency", "raw", "description"}
# The bold labels this module writes itself: a label derived from an alert's detail key must not pass for one.
BOT_LABELS = frozenset(
    label.casefold()
    for label in (
        "Root cause",
        "Evidence",
        "What we looked at",
        "Diagnostics",
        "Recommended next steps",
        "Unknowns",
        "Raw alert",
        "Analysis failed",
        "Pipeline",
        "Account",
        "Region",
        "Resource",
        "Source",
        "Occurred",
        "Metric",
        *SECTION_LABELS.values(),
        *(pair[0] for pair in _PAIRS),
    )
)


@dataclass(frozen=True)
class _Budget:
    """Character budgets of the message's parts (after escaping), scaled down together when the message is big."""

    summary: int = 900
    root_cause: int = 1200
    evidence: int = 1400
    facts: int = 1600
    diagnostics: int = 1200
    recommendations: int = 1000
    unknowns: int = 600
    raw_excerpt: int = 1600
    failure: int = 500
    field_value: int = 200
    line: int = 400
    fallback_text: int = 600

    def scaled(self, factor: float) -> _Budget:
        values = {name: max(int(getattr(self, name) * factor), 40) for name in self.__dataclass_fields__}
        return _Budget(**values)


_SCALES = (1.0, 0.6, 0.4, 0.25, 0.12)


def format_message(fi: FormatInput, *, now: datetime | None = None) -> SlackMessage:
    """Render `fi` as a Slack message (top-level fallback `text` plus Block Kit `blocks`).

    `now` is when the run is considered finished (defaults to the current time); with `fi.started_at` it gives the
    duration shown in the footer. Never raises: if rendering fails on content nobody anticipated, a minimal
    message (title, summary, the error) is returned instead, because an alert must not be lost to a formatting bug.
    """
    now = now or datetime.now(UTC)
    if fi.execution_id is not None:  # it goes into URLs: one that cannot be encoded must not cost the message
        fi = fi.model_copy(update={"execution_id": clean_text(fi.execution_id)})
    try:
        message = SlackMessage(text="", blocks=[])
        for factor in _SCALES:
            message = _render(fi, now, _Budget().scaled(factor))
            if message_size(message) <= TARGET_MESSAGE_BYTES:
                break
        return message
    except Exception as exc:
        logger.exception("Formatting failed; posting a minimal message", extra={"dedup_key": fi.alert.dedup_key})
        return _minimal_message(fi, exc)


def _minimal_message(fi: FormatInput, error: Exception) -> SlackMessage:
    alert = fi.alert
    marker = SEVERITY_MARKERS.get(alert.severity, "🔴 ALERT")
    title = clip(f"{marker} {escape(one_line(alert.title[:400]))}", MAX_HEADER_CHARS)
    lines = [safe(alert.summary, 1500)] if alert.summary.strip() else []
    lines.append(f"_Formatting failed ({safe(type(error).__name__, 80)}); this is the minimal message._")
    if fi.execution_id:
        lines.append(link(console_links.stepfunctions_execution_url(fi.execution_id), "View run"))
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": title, "emoji": True}},
        _section("\n".join(lines)),
    ]
    if alert.raw_excerpt:
        blocks.append(_section("*Raw alert* (kept as received)\n" + code_block(alert.raw_excerpt, 1000)))
    return SlackMessage(text=title, blocks=blocks)


def format_output(fi: FormatInput, *, now: datetime | None = None) -> FormatOutput:
    """The Format stage's result: what Post needs, without the bulky context (metric `SlackMessageBytes`)."""
    message = format_message(fi, now=now)
    metrics.add_metric(name="SlackMessageBytes", unit=MetricUnit.Bytes, value=message_size(message))
    return FormatOutput(
        route=fi.route,
        dedup_key=fi.alert.dedup_key,
        title=clip(one_line(fi.alert.title), 300),
        message=message,
        alert_context=alert_context_from_pipeline(fi.alert, fi.analysis, fi.context).model_dump(mode="json"),
    )


def message_size(message: SlackMessage) -> int:
    """Bytes of the message as JSON on the wire (UTF-8)."""
    return len(json.dumps(message.model_dump(mode="json"), ensure_ascii=False).encode())


def block_kit_builder_url(message: SlackMessage) -> str:
    """A Slack Block Kit Builder link that previews `message`'s blocks (for the CLI; opens in a browser)."""
    payload = json.dumps({"blocks": message.blocks}, separators=(",", ":"), ensure_ascii=False)
    return "https://app.slack.com/block-kit-builder/#" + quote(payload, safe="")


# --- Rendering ------------------------------------------------------------------------------------------------


def _render(fi: FormatInput, now: datetime, budget: _Budget) -> SlackMessage:
    if fi.route == "heartbeat":
        return _render_heartbeat(fi, now, budget)
    alert = fi.alert
    analysis = fi.analysis
    blocks: list[dict[str, Any] | None] = [_header(alert)]

    if _summary_adds_something(alert):
        blocks.append(_section(safe(alert.summary.strip(), budget.summary)))
    if analysis is None:
        blocks.append(_section(_analysis_failed_text(fi.analysis_failure, budget)))

    fields = _fields(alert, budget)
    if fields:
        blocks.append({"type": "section", "fields": fields})

    if analysis is not None:
        blocks.append({"type": "divider"})
        blocks.append(_section(_root_cause_text(analysis, budget)))
        evidence = [
            link(claim.link, safe(one_line(claim.claim), budget.line))
            + (f" _({SECTION_LABELS.get(claim.section, 'alert')})_" if claim.section != "alert" else "")
            for claim in analysis.evidence
            if claim.claim.strip()
        ]
        blocks.append(_list_section("*Evidence*", evidence, budget.evidence))

    facts_text = _context_text(fi, budget)
    if facts_text:
        blocks.append(_section(facts_text))

    if analysis is not None:
        if analysis.diagnostics:
            blocks.append(_section(_diagnostics_text(analysis, budget)))
        steps = [safe(one_line(step), budget.line) for step in analysis.recommendations if step.strip()]
        blocks.append(_list_section("*Recommended next steps*", steps, budget.recommendations, numbered=True))
        unknowns = [safe(one_line(u), budget.line) for u in analysis.unknowns if u.strip()]
        blocks.append(_list_section("*Unknowns*", unknowns, budget.unknowns))

    if alert.source == "unknown" or (analysis is None and alert.raw_excerpt):
        blocks.append(_section(_raw_excerpt_text(alert, budget)))

    blocks.append(_footer(fi, now, budget))
    actions = _actions(fi)
    if actions is not None:
        blocks.append(actions)

    kept = [b for b in blocks if b is not None and b.get("type")][:MAX_BLOCKS]
    return SlackMessage(text=_fallback_text(fi, budget), blocks=kept)


def _render_heartbeat(fi: FormatInput, now: datetime, budget: _Budget) -> SlackMessage:
    """The heartbeat channel gets a compact message: the alert's facts and how each pipeline stage fared (the
    proof that the pipeline runs end to end), without the analysis sections a routine notice does not need."""
    alert = fi.alert
    blocks: list[dict[str, Any] | None] = [_header(alert, marker=HEARTBEAT_MARKER)]
    if _summary_adds_something(alert):
        blocks.append(_section(safe(alert.summary.strip(), budget.summary)))
    fields = _fields(alert, budget)
    if fields:
        blocks.append({"type": "section", "fields": fields})
    if alert.source == "unknown":
        blocks.append(_section(_raw_excerpt_text(alert, budget)))
    stages = [f"{SECTION_LABELS.get(s.name, s.name)}: {HEARTBEAT_STATUS[s.status]}" for s in fi.context.sections()]
    analysed = "analysis failed" if fi.analysis is None else "analysis ✓"
    blocks.append(_section("*Pipeline* · " + " · ".join([*stages, analysed])))
    blocks.append(_footer(fi, now, budget))
    blocks.append(_actions(fi))
    kept = [b for b in blocks if b is not None][:MAX_BLOCKS]
    text = clip(f"{HEARTBEAT_MARKER}: {escape(one_line(alert.title[:400]))}", budget.fallback_text)
    return SlackMessage(text=text, blocks=kept)


def _summary_adds_something(alert: Alert) -> bool:
    """False when the summary is empty or only repeats the title (custom and heartbeat alerts often do)."""
    summary = one_line(alert.summary).casefold()
    return bool(summary) and summary not in one_line(alert.title).casefold()


def _header(alert: Alert, *, marker: str | None = None) -> dict[str, Any]:
    marker = marker or SEVERITY_MARKERS.get(alert.severity, alert.severity.upper())
    title = one_line(alert.title[:400]) or alert.alert_type or "Alert"
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(f"{marker} {escape(title)}", MAX_HEADER_CHARS), "emoji": True},
    }


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION_CHARS)}}


def _list_section(title: str, lines: list[str], limit: int, *, numbered: bool = False) -> dict[str, Any] | None:
    """A titled bullet (or numbered) list that stops at whole lines and says how many were left out."""
    if not lines:
        return None
    limit = min(limit, MAX_SECTION_CHARS)
    text = title
    shown = 0
    for line in lines:
        bullet = f"{shown + 1}. " if numbered else "• "
        candidate = f"{text}\n{bullet}{line}"
        reserve = 30 if shown + 1 < len(lines) else 0
        if len(candidate) + reserve > limit:
            if shown == 0:  # always show something: the first line whole (lines are bounded), or cut to fit
                fits = len(candidate) + reserve <= MAX_SECTION_CHARS
                text, shown = (candidate if fits else clip(candidate, MAX_SECTION_CHARS - 30)), 1
            break
        text, shown = candidate, shown + 1
    if shown < len(lines):
        text += f"\n_…and {len(lines) - shown} more_"
    return _section(text)


def _analysis_failed_text(failure: dict[str, Any] | None, budget: _Budget) -> str:
    failure = failure or {}
    error = one_line(failure.get("Error") or "unknown error")
    cause = _readable_cause(failure.get("Cause"))
    text = f"⚠️ *Analysis failed* ({safe(error, 120)}): the alert is posted with its raw facts only."
    if cause:
        text += f"\n> {safe(one_line(cause), budget.failure)}"
    return text


def _readable_cause(cause: Any) -> str:
    """Step Functions puts a Lambda error's JSON in `Cause`; its errorMessage is what a human wants to read."""
    if not cause:
        return ""
    if isinstance(cause, str):
        try:
            parsed = json.loads(cause)
        except ValueError:
            return cause
        cause = parsed
    if isinstance(cause, dict):
        return str(cause.get("errorMessage") or cause.get("message") or json.dumps(cause))
    return str(cause)


def _root_cause_text(analysis: Analysis, budget: _Budget) -> str:
    return (
        f"*Root cause* (confidence: {analysis.confidence})\n"
        f"{safe(analysis.root_cause.strip() or 'Not determined.', budget.root_cause)}"
    )


def _diagnostics_text(analysis: Analysis, budget: _Budget) -> str:
    commands = "\n".join(one_line(c) for c in analysis.diagnostics if c.strip())
    return "*Diagnostics* (read-only commands)\n" + code_block(commands, budget.diagnostics, commands=True)


def _raw_excerpt_text(alert: Alert, budget: _Budget) -> str:
    raw = alert.raw_excerpt or ""
    if not raw.strip():
        return "*Raw alert*: _nothing was received beyond the fields above._"
    return "*Raw alert* (kept as received)\n" + code_block(raw, budget.raw_excerpt)


def _context_text(fi: FormatInput, budget: _Budget) -> str:
    """Key facts per gather branch, and a short line for each branch that failed or was skipped."""
    sections = fi.context.sections()
    if not sections:
        return ""
    # Sections share the budget in turn: what a skipped or short section leaves is there for the next one.
    parts: list[str] = []
    remaining = budget.facts
    for index, section in enumerate(sections):
        share = max(remaining // (len(sections) - index), 80)
        parts.append(_section_text(section, share, budget))
        remaining -= len(parts[-1]) + 1
    text = "*What we looked at*\n" + "\n".join(p for p in parts if p)
    return _whole_lines(text, min(budget.facts + 40, MAX_SECTION_CHARS))


def _whole_lines(text: str, limit: int) -> str:
    """Cut `text` at a line boundary (so no link we built is cut in half), ending with "…"."""
    if len(text) <= limit:
        return text
    kept = ""
    for line in text.split("\n"):
        candidate = f"{kept}\n{line}" if kept else line
        if len(candidate) > limit - 2:
            break
        kept = candidate
    return f"{kept}\n…" if kept else clip(text, limit)


def _section_text(section: ContextSection, limit: int, budget: _Budget) -> str:
    label = f"*{SECTION_LABELS.get(section.name, section.name)}*"
    if section.status == "error":
        reason = section.error or "error"
        cause = _readable_cause(section.cause)
        detail = f"{reason}: {cause}" if cause and cause != reason else reason
        return f"{label}: ⚠️ failed ({safe(one_line(detail), min(limit, 200))})"
    if section.status == "skipped":
        why = section.notes[0] if section.notes else "not relevant to this alert"
        return f"{label}: skipped ({safe(one_line(why), min(limit, 160))})"
    # Each fact as a link to its evidence, or as plain text when the link's URL would not fit: console URLs can
    # be longer than the fact itself, and a fact shown without its link beats "…N more".
    lines: list[tuple[str, str]] = []
    for fact in section.facts:
        if fact.text:
            plain = "• " + safe(one_line(fact.text), budget.line)
            lines.append(("• " + link(fact.link, safe(one_line(fact.text), budget.line)), plain))
    if not lines:
        lines = [("• _nothing notable found_",) * 2]
    if section.notes:
        note = "_" + safe(one_line("; ".join(section.notes)), 200) + "_"
        lines.append((note, note))
    text = label
    if section.looked_at:
        text += " _(" + safe(one_line("; ".join(section.looked_at)), min(150, limit // 3)) + ")_"
    for index, (linked, plain) in enumerate(lines):
        fitting = next((line for line in (linked, plain) if len(text) + len(line) + 1 <= limit - 25), None)
        if fitting is None:
            text += f"\n_…{len(lines) - index} more_"
            break
        text = f"{text}\n{fitting}"
    return text


def _fields(alert: Alert, budget: _Budget) -> list[dict[str, Any]]:
    pairs: list[tuple[str, str]] = []
    if alert.account_id:
        pairs.append(("Account", alert.account_id))
    region = alert.region or (alert.resource.region if alert.resource else None)
    if region:
        pairs.append(("Region", region))
    if alert.resource and (alert.resource.name or alert.resource.arn):
        resource = alert.resource.name or alert.resource.arn or ""
        pairs.append(("Resource", f"{resource} ({alert.resource.type})" if alert.resource.type else resource))
    pairs.append(("Source", f"{SOURCE_LABELS.get(alert.source, alert.source)} · {alert.alert_type}"))
    if alert.occurred_at:
        pairs.append(("Occurred", _when(alert.occurred_at)))
    pairs += _detail_pairs(alert.details.as_fields())
    return [
        {"type": "mrkdwn", "text": clip(f"*{escape(label)}*\n{safe(one_line(value), budget.field_value)}", 2000)}
        for label, value in pairs[:MAX_FIELDS]
        if str(value).strip()
    ]


def _detail_pairs(details: dict[str, Any]) -> list[tuple[str, str]]:
    """Readable (label, value) pairs from the alert's source-specific details, the numbers first."""
    used: set[str] = set(_HIDDEN_DETAILS)
    unit = details.get("unit") or details.get("currency")
    unit_suffix = f" {unit}" if isinstance(unit, str) and unit else ""
    pairs: list[tuple[str, str]] = []
    for label, first_keys, second_keys in _PAIRS:
        first = next((k for k in first_keys if _is_number(details.get(k))), None)
        second = next((k for k in second_keys if _is_number(details.get(k))), None)
        if first is None or second is None:
            continue
        used.update((first, second))
        a, b = float(details[first]), float(details[second])
        ratio = f" ({a / b:.0%})" if b else ""
        suffix = unit_suffix if label != "Value vs threshold" else ""
        pairs.append((label, f"{_number(a)} / {_number(b)}{suffix}{ratio}"))

    namespace, metric = details.get("namespace"), details.get("metric_name") or details.get("metric")
    if isinstance(metric, str) and metric:
        used.update(("namespace", "metric_name", "metric"))
        pairs.append(("Metric", f"{namespace} · {metric}" if isinstance(namespace, str) and namespace else metric))

    for key, value in details.items():
        if key in used or value is None or value == "" or value == [] or value == {}:
            continue
        if isinstance(value, dict):
            rendered = ", ".join(f"{k}={v}" for k, v in list(value.items())[:6])
        elif isinstance(value, list):
            rendered = ", ".join(str(v) for v in value[:6])
        elif isinstance(value, bool):
            rendered = "yes" if value else "no"
        elif _is_number(value):
            rendered = _number(float(value))
        else:
            rendered = str(value)
        pairs.append((_label(key), rendered))
    return pairs


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return False


def _number(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.4g}"


def _label(key: str) -> str:
    """A readable label for an alert's detail key; one that reads like a label of ours says it is the alert's."""
    words = key.replace("_", " ").replace("-", " ").strip()
    label = (words[:1].upper() + words[1:])[:60] or key
    return f"{label} (alert field)" if " ".join(label.split()).casefold() in BOT_LABELS else label


def _when(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _method_line(fi: FormatInput) -> str:
    analysis = fi.analysis
    if analysis is None:
        error = one_line((fi.analysis_failure or {}).get("Error") or "unknown error")
        return f"Analysis failed ({safe(error, 100)}): raw alert facts only"
    if analysis.method == "claude":
        line = f"Claude {safe(analysis.model_id or 'model', 100)}"
        if analysis.usage is not None:
            usage = analysis.usage
            line += f" · {usage.input_tokens:,} in/{usage.output_tokens:,} out tokens · ${usage.estimated_cost_usd:.4f}"
        return line
    if analysis.method == "rule_based":
        if analysis.fallback_reason:
            return f"AI analysis unavailable: {safe(one_line(analysis.fallback_reason), 300)} — rule-based analysis"
        if fi.route == "heartbeat" or fi.alert.severity == "info":
            return "Rule-based analysis (heartbeat and info alerts skip the model)"
        return "Rule-based analysis (no model configured)"
    return "Not analysed: alert passed through as received"


def _duration_text(fi: FormatInput, now: datetime) -> str | None:
    if fi.started_at is None:
        return None
    started = fi.started_at if fi.started_at.tzinfo else fi.started_at.replace(tzinfo=UTC)
    finished = now if now.tzinfo else now.replace(tzinfo=UTC)
    seconds = max((finished - started).total_seconds(), 0.0)
    if seconds < 60:
        return f"⏱ {seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"⏱ {minutes} min {rest} s"


def _footer(fi: FormatInput, now: datetime, budget: _Budget) -> dict[str, Any]:
    elements = [_method_line(fi)]
    if fi.analysis is not None and fi.analysis.dropped_commands:
        elements.append(f"{len(fi.analysis.dropped_commands)} suggested command(s) dropped: not read-only")
    duration = _duration_text(fi, now)
    if duration:
        elements.append(duration)
    if fi.route == "heartbeat":
        elements.append("route: heartbeat")
    elements.append(f"dedup `{safe(fi.alert.dedup_key, 120)}`")
    return {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": clip(text, MAX_SECTION_CHARS)} for text in elements[:MAX_CONTEXT_ELEMENTS]
        ],
    }


def _actions(fi: FormatInput) -> dict[str, Any] | None:
    buttons: list[tuple[str, str, str]] = []
    if fi.execution_id:
        buttons.append(("view_run", "View run", console_links.stepfunctions_execution_url(fi.execution_id)))
    source_link = alert_console_link(fi.alert)
    if source_link:
        buttons.append(("open_source", *source_link))
    region = fi.alert.region
    resource_link = resource_console_link(fi.alert.resource, region)
    if resource_link and (not source_link or resource_link[1] != source_link[1]):
        buttons.append(("open_resource", *resource_link))
    elements = [
        {
            "type": "button",
            "action_id": action_id,
            "text": {"type": "plain_text", "text": clip(escape(label), MAX_BUTTON_TEXT_CHARS)},
            "url": url,
        }
        for action_id, label, url in buttons
        if len(url) <= MAX_BUTTON_URL_CHARS and console_links.is_console_url(url)
    ]
    return {"type": "actions", "elements": elements} if elements else None


def _fallback_text(fi: FormatInput, budget: _Budget) -> str:
    """The plain notification text (shown in push notifications and where blocks cannot render)."""
    alert = fi.alert
    marker = SEVERITY_MARKERS.get(alert.severity, alert.severity.upper())
    text = f"{marker}: {escape(one_line(alert.title))}"
    if fi.analysis is not None and fi.analysis.root_cause.strip():
        text += f" — {escape(one_line(fi.analysis.root_cause))}"
    elif alert.summary.strip():
        text += f" — {escape(one_line(alert.summary))}"
    return clip(text, min(budget.fallback_text, MAX_FALLBACK_TEXT_CHARS))
