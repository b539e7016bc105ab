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

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from aws_lambda_powertools.metrics import MetricUnit

from functions.shared import console_links, slack_actions
from functions.shared.alert_details import BudgetDetails
from functions.shared.chat_models import alert_context_from_pipeline
from functions.shared.incident_messages import resolution_line
from functions.shared.incidents import alert_signal, incident_key, incident_ref
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
TARGET_MESSAGE_BYTES = 8_000
# The thread reply: the evidence, diagnostics and unknowns; with the main message and the chat context it keeps
# the Format state's output within its 32 KB (functions.shared.payload_bounds).
TARGET_THREAD_BYTES = 10_000
# The main message (issue 14): one phone screen.
MAX_MAIN_BLOCKS = 6
MAX_MAIN_BUTTONS = 3
MAX_DIAGNOSTICS = 3
# Bounds that keep the main message within 900 visible characters whatever the input (a test measures it).
MAX_MAIN_BUTTON_TEXT_CHARS = 30
MAX_CONTEXT_PART_CHARS = 60
MAX_CONTEXT_LINE_CHARS = 140
MAX_FOOTER_METHOD_CHARS = 100
MAX_EVIDENCE_SECTIONS = 3

SEVERITY_MARKERS = {"critical": "🔴 CRITICAL", "warning": "🟠 WARNING", "info": "🔵 INFO"}
HEARTBEAT_MARKER = "💚 HEARTBEAT"
FALSE_ALARM_MARKER = "🟢 Likely false alarm:"
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
        "Why",
        "Do now",
        "Next step",
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
    why: int = 210
    do_now: int = 130
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


def format_message(fi: FormatInput, *, now: datetime | None = None, interactive: bool = False) -> SlackMessage:
    """Render `fi` as a Slack message (top-level fallback `text` plus Block Kit `blocks`).

    `now` is when the run is considered finished (defaults to the current time); with `fi.started_at` it gives the
    duration shown in the footer. With `interactive` (the route is posted with the bot token, so its clicks reach
    the chat endpoint) the message gets its Slack buttons: Acknowledge and Mute 1 h on an incident, Analyze with
    AI on a heartbeat (`functions.shared.slack_actions`). Never raises: if rendering fails on content nobody
    anticipated, a minimal message (title, summary, the error) is returned instead, because an alert must not be
    lost to a formatting bug.
    """
    now = now or datetime.now(UTC)
    if fi.execution_id is not None:  # it goes into URLs: one that cannot be encoded must not cost the message
        fi = fi.model_copy(update={"execution_id": clean_text(fi.execution_id)})
    try:
        message = SlackMessage(text="", blocks=[])
        for factor in _SCALES:
            message = _render(fi, now, _Budget().scaled(factor), interactive=interactive)
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


def format_output(fi: FormatInput, *, now: datetime | None = None, interactive: bool = False) -> FormatOutput:
    """The Format stage's result: what Post needs, without the bulky context (metric `SlackMessageBytes`)."""
    incident = incident_ref(fi.alert, evidence_digest=evidence_digest(fi)).model_copy(
        update={
            "signal": alert_signal(fi.alert),
            "change": fi.incident_check.incident.change if fi.incident_check is not None else None,
        }
    )
    if incident.resolved and fi.route == "critical":  # an OK is news, not an investigation: one compact line
        message, thread = resolution_message(fi, now=now), None
    else:
        message, thread = format_message(fi, now=now, interactive=interactive), render_thread(fi, now=now)
    metrics.add_metric(name="SlackMessageBytes", unit=MetricUnit.Bytes, value=message_size(message))
    return FormatOutput(
        route=fi.route,
        dedup_key=fi.alert.dedup_key,
        title=clip(one_line(fi.alert.title), 300),
        message=message,
        thread=thread,
        incident=incident,
        alert_context=alert_context_from_pipeline(fi.alert, fi.analysis, fi.context).model_dump(mode="json"),
    )


def resolution_message(fi: FormatInput, *, now: datetime | None = None) -> SlackMessage:
    """One compact line for an alert that says its incident is over (alarm back to OK, finding archived):
    "✅ Resolved 06:41 UTC: api-errors (Errors on api)". With the bot token, Post also edits the incident's message."""
    return resolution_line(fi.alert, execution_id=fi.execution_id, now=now)


def evidence_digest(fi: FormatInput) -> str:
    """A short digest of what the message rests on (the root cause's subject and the facts' keys): a re-fire whose
    digest is unchanged needs no new message, only a thread reply."""
    keys = sorted(f.key for section in fi.context.sections() for f in section.facts)
    parts = [fi.alert.source, fi.alert.alert_type, verdict(fi.analysis), *keys]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def message_size(message: SlackMessage) -> int:
    """Bytes of the message as JSON on the wire (UTF-8)."""
    return len(json.dumps(message.model_dump(mode="json"), ensure_ascii=False).encode())


def block_kit_builder_url(message: SlackMessage) -> str:
    """A Slack Block Kit Builder link that previews `message`'s blocks (for the CLI; opens in a browser)."""
    payload = json.dumps({"blocks": message.blocks}, separators=(",", ":"), ensure_ascii=False)
    return "https://app.slack.com/block-kit-builder/#" + quote(payload, safe="")


# --- Rendering ------------------------------------------------------------------------------------------------


def _render(fi: FormatInput, now: datetime, budget: _Budget, *, interactive: bool = False) -> SlackMessage:
    """The main message: at most six blocks an on-call engineer reads on one phone screen.

    Header (what broke and its impact, from the analysis), the why with its confidence, the "do now" line,
    2-3 console buttons (most useful first), one context line (environment, account, region, source, resource,
    time) and the footer (how it was analysed, how long it took, View run). Everything else is in the thread.
    """
    if fi.route == "heartbeat":
        return _render_heartbeat(fi, now, budget, interactive=interactive)
    alert = fi.alert
    analysis = fi.analysis
    headline = _headline(fi)
    blocks: list[dict[str, Any] | None] = [_header_text(headline.marker, headline.text)]
    if analysis is None:
        text = _analysis_failed_text(fi.analysis_failure, budget)
        if _summary_adds_something(alert):
            text += "\n" + safe(one_line(alert.summary), budget.why)
        blocks.append(_section(text))
    else:
        why = _without_header_numbers(headline.rest or analysis.root_cause.strip(), headline.text)
        why = why or "Not determined."
        blocks.append(_section(f"*Why* ({analysis.confidence} confidence)\n{safe(one_line(why), budget.why)}"))
    buttons = _main_buttons(fi)
    do_now = _do_now_text(fi, buttons, budget)
    if do_now:
        blocks.append(_section(do_now))
    extra = slack_actions.incident_buttons(incident_key(alert)) if interactive else []
    blocks.append(_actions_block(buttons, extra))
    blocks.append(_context_line(fi, budget))
    blocks.append(_footer(fi, now, budget))
    kept = [b for b in blocks if b is not None and b.get("type")][:MAX_MAIN_BLOCKS]
    return SlackMessage(text=_fallback_text(fi, budget, headline), blocks=kept)


def render_thread(fi: FormatInput, *, now: datetime | None = None) -> SlackMessage | None:
    """The first reply under the main message: the evidence behind it, once, each fact with its link; what each
    gather branch looked at (one line each); the read-only diagnostics (at most three); the remaining next steps;
    the unknowns; the raw alert when it was not understood; and the model, tokens and cost.

    None for heartbeat messages (they have no investigation). Never raises (None on a rendering bug: the main
    message is what must not be lost).
    """
    if fi.route == "heartbeat":
        return None
    now = now or datetime.now(UTC)
    try:
        thread = SlackMessage(text="", blocks=[])
        for factor in _SCALES:
            thread = _render_thread(fi, now, _Budget().scaled(factor))
            if message_size(thread) <= TARGET_THREAD_BYTES:
                break
        return thread if thread.blocks else None
    except Exception:
        logger.exception("Formatting the thread failed; posting the main message only")
        return None


def _render_thread(fi: FormatInput, now: datetime, budget: _Budget) -> SlackMessage:
    alert = fi.alert
    analysis = fi.analysis
    blocks: list[dict[str, Any] | None] = []
    evidence: list[tuple[str, str]] = []  # (line with its console link, the same line as text)
    if analysis is not None and any(claim.claim.strip() for claim in analysis.evidence):
        for claim in analysis.evidence:
            if claim.claim.strip():
                where = f" _({SECTION_LABELS.get(claim.section, 'alert')})_" if claim.section != "alert" else ""
                text = safe(one_line(claim.claim), budget.line)
                evidence.append((link(claim.link, text) + where, text + where))
    else:  # no analysis (or one without evidence): the gathered facts are the evidence
        for section in fi.context.sections():
            where = f" _({SECTION_LABELS.get(section.name, section.name)})_"
            for fact in section.facts:
                if fact.text.strip():
                    text = safe(one_line(fact.text), budget.line)
                    evidence.append((link(fact.link, text) + where, text + where))
    blocks += _evidence_sections(evidence, budget)
    checked = _checked_text(fi, budget)
    if checked:
        blocks.append(_section(checked))
    if _summary_adds_something(alert) and analysis is not None:  # as the alert said it (the main message has it
        blocks.append(_section(safe(alert.summary.strip(), budget.summary)))  # when there is no analysis)
    if analysis is not None:
        if any(c.strip() for c in analysis.diagnostics):
            blocks.append(_section(_diagnostics_text(analysis, budget)))
        steps = [safe(one_line(step), budget.line) for step in _remaining_steps(fi)]
        blocks.append(_list_section("*Recommended next steps*", steps, budget.recommendations, numbered=True))
        unknowns = [safe(one_line(u), budget.line) for u in analysis.unknowns if u.strip()]
        blocks.append(_list_section("*Unknowns*", unknowns, budget.unknowns))
    if alert.source == "unknown" or (analysis is None and alert.raw_excerpt):
        blocks.append(_section(_raw_excerpt_text(alert, budget)))
    elements = [_method_line(fi, usage=True)]
    if analysis is not None and analysis.dropped_commands:
        elements.append(f"{len(analysis.dropped_commands)} suggested command(s) dropped: not read-only")
    elements.append(f"dedup `{safe(fi.alert.dedup_key, 120)}`")
    blocks.append(_context_block(elements))
    kept = [b for b in blocks if b is not None and b.get("type")][:MAX_BLOCKS]
    headline = _headline(fi)
    text = clip(
        f"Evidence and diagnostics: {escape(headline.text)}", min(budget.fallback_text, MAX_FALLBACK_TEXT_CHARS)
    )
    return SlackMessage(text=text, blocks=kept)


def _evidence_sections(lines: list[tuple[str, str]], budget: _Budget) -> list[dict[str, Any]]:
    """The evidence in up to three sections (console links are long; every fact keeps its own when it fits, else
    it is shown as text), the first one titled; what does not fit is counted."""
    sections: list[dict[str, Any]] = []
    limit = min(MAX_SECTION_CHARS - 40, budget.evidence * 2)
    text, shown = "*Evidence*", 0
    for linked, plain in lines:
        line = next((c for c in (linked, plain) if len(text) + len(c) + 3 <= limit), None)
        if line is None and len(sections) < MAX_EVIDENCE_SECTIONS - 1 and shown:
            sections.append(_section(text))
            text = ""
            line = next((c for c in (linked, plain) if len(c) + 3 <= limit), None)
        if line is None:
            break
        text, shown = (f"{text}\n• {line}" if text else f"• {line}"), shown + 1
    if shown < len(lines):
        text += f"\n_…and {len(lines) - shown} more_"
    if shown or text != "*Evidence*":
        sections.append(_section(text))
    return sections


@dataclass(frozen=True)
class _Headline:
    marker: str  # "🔴 CRITICAL", "🟢 Likely false alarm:", ...
    text: str  # what broke (and its impact), untrusted text not yet escaped
    rest: str  # the root cause after the part the header already says ("" when the header is the alert's title)
    verdict: str  # "problem" or "false_alarm"


_CLAUSE_END = re.compile(r": |; | — |\. ")
_TITLE_PREFIX = re.compile(r"^(?:ALARM|ALERT|OK|INSUFFICIENT_DATA): ", re.I)
_COST_SOURCES = frozenset({"budget", "cost_anomaly"})


def verdict(analysis: Analysis | None) -> str:
    """ "false_alarm" when the analysis concludes nothing is wrong, else "problem": the analysis' typed verdict
    (set by the rules' detectors and requested from Claude in its output schema), never its wording. A
    "no_problem" verdict is presented as a false alarm too: the alert fired, the evidence shows nothing wrong."""
    if analysis is None:
        return "problem"
    return "false_alarm" if analysis.verdict in ("false_alarm", "no_problem") else "problem"


def _headline(fi: FormatInput) -> _Headline:
    alert = fi.alert
    analysis = fi.analysis
    title = one_line(alert.title[:400]) or alert.alert_type or "Alert"
    marker = SEVERITY_MARKERS.get(alert.severity, alert.severity.upper())
    if verdict(analysis) == "false_alarm":
        return _Headline(FALSE_ALARM_MARKER, _TITLE_PREFIX.sub("", title), "", "false_alarm")
    if analysis is None:
        return _Headline(marker, title, "", "problem")
    cause = one_line(analysis.root_cause)
    match = _CLAUSE_END.search(cause)
    clause = cause[: match.start()] if match else ""
    resource = (alert.resource.name if alert.resource else "") or ""
    names_it = alert.source in _COST_SOURCES or (bool(resource) and resource.casefold() in clause.casefold())
    if match and 12 <= len(clause) <= 110 and names_it:
        impact = _impact(alert)
        text = f"{clause} → {impact}" if impact else clause
        rest = cause[match.end() :].strip()
        return _Headline(marker, text, rest[:1].upper() + rest[1:], "problem")
    return _Headline(marker, title, _without_title(cause, title), "problem")


def _without_title(cause: str, title: str) -> str:
    """The root cause without a leading part that only repeats the title (an application error's own message):
    "The application reported an error: <message>; invocations time out" → "Invocations time out"."""
    parts = title.split(": ")
    for index in range(len(parts)):
        repeated = ": ".join(parts[index:]).casefold()
        if len(repeated) < 20:
            break
        at = cause.casefold().find(repeated)
        after = cause[at + len(repeated) :] if at >= 0 else ""
        boundary = _CLAUSE_END.match(after)
        if boundary and after[boundary.end() :].strip():
            rest = after[boundary.end() :].strip()
            return rest[:1].upper() + rest[1:]
    return ""


_PARENTHESIS = re.compile(r" ?\(([^()]*)\)")
_AMOUNT = re.compile(r"\$?\d[\d,]*(?:\.\d+)?%?")


def _without_header_numbers(why: str, header: str) -> str:
    """`why` without a parenthesis that only repeats an amount the header already shows ("($171.40 impact)")."""

    def drop(match: re.Match[str]) -> str:
        amounts = [a for a in _AMOUNT.findall(match.group(1)) if a.startswith("$") or a.endswith("%")]
        return "" if amounts and all(a in header for a in amounts) else match.group()

    return _PARENTHESIS.sub(drop, why)


def _impact(alert: Alert) -> str:
    """The alert's own measure of impact, for the header: a budget's spend (or forecast) against its limit."""
    details = alert.details_of(BudgetDetails)
    if details is None or not details.budgeted_amount:
        return ""
    forecast = details.notification_type == "FORECASTED" and details.forecasted_amount is not None
    amount = details.forecasted_amount if forecast else details.actual_amount
    if amount is None:
        return ""
    label = "budget forecast" if forecast else "budget"
    return f"{label} {amount / details.budgeted_amount:.0%} (${amount:,.0f} / ${details.budgeted_amount:,.0f})"


def _remaining_steps(fi: FormatInput) -> list[str]:
    """The recommendations the "do now" line does not already say."""
    steps = [step for step in (fi.analysis.recommendations if fi.analysis else []) if step.strip()]
    first = _first_step(fi)
    return [step for step in steps if step != first]


def _first_step(fi: FormatInput) -> str | None:
    steps = [step for step in (fi.analysis.recommendations if fi.analysis else []) if step.strip()]
    if verdict(fi.analysis) == "false_alarm":  # "No action is needed" is the header's news, not a step
        steps = [step for step in steps if not step.casefold().startswith("no action")] or steps
    return steps[0] if steps else None


def _do_now_text(fi: FormatInput, buttons: list[tuple[str, str, str]], budget: _Budget) -> str | None:
    step = _first_step(fi)
    label = "Next step" if verdict(fi.analysis) == "false_alarm" else "Do now"
    if step:
        return f"*{label}*: {safe(one_line(step), budget.do_now)}"
    if buttons:
        return f"*{label}*: start from {escape(buttons[0][1])} (first button)"
    return None


def _main_buttons(fi: FormatInput) -> list[tuple[str, str, str]]:
    """At most three (action_id, label, url), most useful first: the implicated resource, the errors query in
    Logs Insights, the cost mover in Cost Explorer, then where the alert itself lives (alarm, budget, finding)."""
    alert = fi.alert
    candidates: list[tuple[str, str, str]] = []
    compute = fi.context.compute
    implicated = next(
        (
            fact
            for fact in (compute.facts if compute else [])
            if fact.key in _IMPLICATED_FACTS and fact.link and fact.subject
        ),
        None,
    )
    resource_link = resource_console_link(alert.resource, alert.region)
    if implicated is not None and implicated.link:
        candidates.append(("open_resource", f"Open {implicated.subject}", implicated.link))
    elif resource_link and alert.source not in _COST_SOURCES:
        candidates.append(("open_resource", *resource_link))
    logs = fi.context.logs
    errors = next((f for f in (logs.facts if logs else []) if f.link and f.key.startswith("logs.")), None)
    if errors is not None and errors.link and (logs is None or logs.fact("logs.pattern.1") is not None):
        candidates.append(("open_logs", "Errors in Logs Insights", errors.link))
    cost = fi.context.cost
    mover = cost.fact("cost.top_mover") if cost else None
    if mover is not None and mover.link:
        candidates.append(("open_cost", "Cost Explorer", mover.link))
    source_link = alert_console_link(alert)
    if source_link:
        candidates.append(("open_source", *source_link))
    buttons: list[tuple[str, str, str]] = []
    for action_id, label, url in candidates:
        fits = len(url) <= MAX_BUTTON_URL_CHARS and console_links.is_console_url(url)
        if fits and all(url != seen for _, _, seen in buttons) and all(action_id != a for a, _, _ in buttons):
            buttons.append((action_id, label, url))
    return buttons[:MAX_MAIN_BUTTONS]


_IMPLICATED_FACTS = ("compute.lambda_mover", "compute.recent_change", "compute.lambda_config", "compute.instance")


def _actions_block(
    buttons: list[tuple[str, str, str]], interactive: list[dict[str, Any]] | None = None
) -> dict[str, Any] | None:
    """The console buttons, most useful first, then the buttons that act from Slack (`interactive`)."""
    elements: list[dict[str, Any]] = [
        {
            "type": "button",
            "action_id": action_id,
            "text": {"type": "plain_text", "text": clip(escape(label), MAX_MAIN_BUTTON_TEXT_CHARS)},
            "url": url,
        }
        for action_id, label, url in buttons
    ]
    elements += interactive or []
    return {"type": "actions", "elements": elements} if elements else None


def _context_line(fi: FormatInput, budget: _Budget) -> dict[str, Any]:
    """Environment · account · region · source · resource · time, in one line (instead of ten fields)."""
    alert = fi.alert
    parts = [fi.environment] if fi.environment else []
    if alert.account_id:
        parts.append(alert.account_id)
    region = alert.region or (alert.resource.region if alert.resource else None)
    if region:
        parts.append(region)
    parts.append(SOURCE_LABELS.get(alert.source, alert.source))
    if alert.resource and (alert.resource.name or alert.resource.arn):
        parts.append(alert.resource.name or alert.resource.arn or "")
    if alert.occurred_at:
        parts.append(_when(alert.occurred_at))
    text = " · ".join(safe(one_line(part), MAX_CONTEXT_PART_CHARS) for part in parts if part.strip())
    return _context_block([clip(text, MAX_CONTEXT_LINE_CHARS)])


def _context_block(elements: list[str]) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": clip(text, MAX_SECTION_CHARS)} for text in elements[:MAX_CONTEXT_ELEMENTS]
        ],
    }


def _checked_text(fi: FormatInput, budget: _Budget) -> str:
    """One line per gather branch: what it queried and how many facts it found (the facts are the evidence)."""
    lines = []
    for section in fi.context.sections():
        label = f"*{SECTION_LABELS.get(section.name, section.name)}*"
        if section.status != "ok":
            lines.append(_section_text(section, 240, budget))
            continue
        found = (
            f"{len(section.facts)} fact{'s' if len(section.facts) != 1 else ''}" if section.facts else "nothing notable"
        )
        looked = safe(one_line("; ".join(section.looked_at)), budget.line) if section.looked_at else "queried"
        note = f" _({safe(one_line('; '.join(section.notes)), 160)})_" if section.notes else ""
        lines.append(f"{label}: {looked} → {found}{note}")
    return _whole_lines("*What we looked at*\n" + "\n".join(lines), MAX_SECTION_CHARS) if lines else ""


def _render_heartbeat(fi: FormatInput, now: datetime, budget: _Budget, *, interactive: bool = False) -> SlackMessage:
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
    extra = slack_actions.analyze_buttons(alert.dedup_key) if interactive else []
    blocks.append(_actions_block(_main_buttons(fi), extra))
    kept = [b for b in blocks if b is not None][:MAX_BLOCKS]
    text = clip(f"{HEARTBEAT_MARKER}: {escape(one_line(alert.title[:400]))}", budget.fallback_text)
    return SlackMessage(text=text, blocks=kept)


def _summary_adds_something(alert: Alert) -> bool:
    """False when the summary is empty or only repeats the title (custom and heartbeat alerts often do)."""
    summary = one_line(alert.summary).casefold()
    return bool(summary) and summary not in one_line(alert.title).casefold()


def _header(alert: Alert, *, marker: str | None = None) -> dict[str, Any]:
    marker = marker or SEVERITY_MARKERS.get(alert.severity, alert.severity.upper())
    return _header_text(marker, one_line(alert.title[:400]) or alert.alert_type or "Alert")


def _header_text(marker: str, text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(f"{marker} {escape(text)}", MAX_HEADER_CHARS), "emoji": True},
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


def _diagnostics_text(analysis: Analysis, budget: _Budget) -> str:
    commands = "\n".join([one_line(c) for c in analysis.diagnostics if c.strip()][:MAX_DIAGNOSTICS])
    return "*Diagnostics* (read-only commands)\n" + code_block(commands, budget.diagnostics, commands=True)


def _raw_excerpt_text(alert: Alert, budget: _Budget) -> str:
    raw = alert.raw_excerpt or ""
    if not raw.strip():
        return "*Raw alert*: _nothing was received beyond the fields above._"
    return "*Raw alert* (kept as received)\n" + code_block(raw, budget.raw_excerpt)


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
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _method_line(fi: FormatInput, *, usage: bool = False) -> str:
    """How the message was analysed; with `usage`, the model's tokens and estimated cost too (the thread's)."""
    analysis = fi.analysis
    if analysis is None:
        error = one_line((fi.analysis_failure or {}).get("Error") or "unknown error")
        return f"Analysis failed ({safe(error, 100)}): raw alert facts only"
    if analysis.method == "claude":
        line = f"Claude {safe(analysis.model_id or 'model', 100)}"
        if usage and analysis.usage is not None:
            tokens = analysis.usage
            line += (
                f" · {tokens.input_tokens:,} in/{tokens.output_tokens:,} out tokens · ${tokens.estimated_cost_usd:.4f}"
            )
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
    """How it was analysed, how long it took and "View run" (for maintainers, so not a button)."""
    elements = [clip(_method_line(fi), MAX_FOOTER_METHOD_CHARS)]
    duration = _duration_text(fi, now)
    if duration:
        elements.append(duration)
    if fi.route == "heartbeat":
        elements.append("route: heartbeat")
        elements.append(f"dedup `{safe(fi.alert.dedup_key, 120)}`")
    if fi.execution_id:
        url = console_links.stepfunctions_execution_url(fi.execution_id)
        if len(url) <= MAX_BUTTON_URL_CHARS and console_links.is_console_url(url):
            elements.append(link(url, "View run"))
    return _context_block(elements)


def _fallback_text(fi: FormatInput, budget: _Budget, headline: _Headline | None = None) -> str:
    """The plain notification text (shown in push notifications and where blocks cannot render)."""
    headline = headline or _headline(fi)
    text = f"{headline.marker.rstrip(':')}: {escape(headline.text)}"
    why = headline.rest or (fi.analysis.root_cause if fi.analysis is not None else fi.alert.summary)
    if why.strip():
        text += f" — {escape(one_line(why))}"
    return clip(text, min(budget.fallback_text, MAX_FALLBACK_TEXT_CHARS))
