"""The last line of defence: when any stage before Post fails, a minimal message still reaches Slack.

Two paths lead here, and both end in `recover`:
* the state machine's own Catch on Classify, Gather Context and Format ("Post Minimal Message");
* an EventBridge rule on the pipeline's executions that ended FAILED, TIMED_OUT or ABORTED: errors no Catch can
  see (`States.DataLimitExceeded`, `States.Runtime`, an execution timeout) end up there.

A failure of Post itself (or of "Post Minimal Message") is not re-posted: Slack refused or could not be reached,
so another post would fail the same way; those runs count in the failed-executions alarm instead.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from functions.recover.models import CaughtFailureInput, ExecutionStatusEvent, RecoverResult
from functions.shared import console_links
from functions.shared.adapters.slack_webhook import WebhookDelivery
from functions.shared.classification import classify_payload
from functions.shared.errors import SlackPostError, SlackRateLimitedError
from functions.shared.models import Route, SlackMessage
from functions.shared.registry import source_label
from functions.shared.slack_text import code_block, escape, safe
from functions.shared.untrusted_text import clean_json, clean_text

MAX_RAW_EXCERPT_CHARS = 1_500
# Errors that mean Slack itself did not take a message: posting again would fail the same way.
POST_FAILURES = frozenset(
    {SlackPostError.__name__, SlackRateLimitedError.__name__, "SlackRejectedError", "ConfigurationError"}
)
FAILED_STATUSES = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})


class WebhookSender(Protocol):
    def send(self, route: Route, body: dict[str, Any]) -> WebhookDelivery: ...


class ExecutionInputReader(Protocol):
    def execution_input(self, execution_arn: str) -> str | None: ...


def recover_from_catch(event: CaughtFailureInput, sender: WebhookSender) -> RecoverResult:
    """Post the minimal message for a failure the state machine caught.

    Raises:
        SlackRateLimitedError, SlackPostError: as Post does (the state machine retries, then the run fails).
    """
    message, route = minimal_message(event.failure.error, event.execution_input, event.execution_id)
    delivery = sender.send(route, message.model_dump(mode="json"))
    return RecoverResult(posted=True, route=route, status_code=delivery.status_code)


def recover_from_status_change(
    event: ExecutionStatusEvent, sender: WebhookSender, inputs: ExecutionInputReader | None = None
) -> RecoverResult:
    """Post the minimal message for an execution that ended without posting (see the module docstring).

    Raises:
        SlackRateLimitedError, SlackPostError: Slack did not take it (the rule's retries and dead-letter queue).
    """
    detail = event.detail
    if detail.status not in FAILED_STATUSES:
        return RecoverResult(posted=False, reason=f"execution {detail.status or 'status unknown'}: nothing to do")
    error = detail.error or detail.status
    if error in POST_FAILURES:
        return RecoverResult(posted=False, reason=f"Post itself failed ({error}): left to the failed-runs alarm")
    raw_input = detail.input
    if raw_input is None and inputs is not None and detail.execution_arn:
        raw_input = inputs.execution_input(detail.execution_arn)
    execution_input: Any = raw_input
    if isinstance(raw_input, str):
        try:
            execution_input = json.loads(raw_input)
        except (ValueError, RecursionError):
            execution_input = raw_input
    message, route = minimal_message(error, execution_input, detail.execution_arn or None)
    delivery = sender.send(route, message.model_dump(mode="json"))
    return RecoverResult(posted=True, route=route, status_code=delivery.status_code)


def minimal_message(error: str, execution_input: Any, execution_id: str | None) -> tuple[SlackMessage, Route]:
    """The message for an alert the pipeline could not process, and the route it goes to. Never raises.

    It says that processing failed and why (the error's name), names the alert's source when it can be told,
    and shows a bounded excerpt of what arrived, as inert text.
    """
    cleaned = clean_json(execution_input)
    route: Route = "critical"
    payload: Any = cleaned
    subject: str | None = None
    if isinstance(cleaned, dict) and "payload" in cleaned:  # a PipelineInput, as ingest starts executions
        route = "heartbeat" if cleaned.get("route") == "heartbeat" else "critical"
        payload = cleaned.get("payload")
        subject = cleaned.get("subject") if isinstance(cleaned.get("subject"), str) else None
    error_name = clean_text(str(error))[:120] or "unknown error"
    source, title = _source_and_title(payload, subject)
    header = f"⚠️ alert-intel could not process this alert: {error_name}"
    lines = []
    if source:
        lines.append(f"*Source*: {escape(source)}")
    if title:
        lines.append(f"*Alert*: {safe(title, 300)}")
    lines.append("*Raw alert* (excerpt, as received)\n" + code_block(_excerpt(payload), MAX_RAW_EXCERPT_CHARS + 20))
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _plain(header, 150), "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}},
    ]
    footer = ["The analysis did not run; the alert is shown as it arrived."]
    if execution_id:
        url = console_links.stepfunctions_execution_url(execution_id)
        if url and console_links.is_console_url(url):
            footer.append(f"<{url}|View run>")
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(footer)}]})
    text = _plain(f"{header}" + (f" — {source}" if source else ""), 300)
    return SlackMessage(text=text, blocks=blocks), route


def _source_and_title(payload: Any, subject: str | None) -> tuple[str | None, str | None]:
    """What classification can tell of the alert; nothing when classification itself is what failed."""
    try:
        alert = classify_payload(payload, subject)
    except Exception:  # classification never raises, but this path exists for when something did
        return None, subject
    if alert.source == "unknown":
        return None, subject
    return source_label(alert.source), alert.title


def _excerpt(payload: Any) -> str:
    if payload is None:
        return "(nothing was received)"
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False, indent=1, default=str)
    return text if len(text) <= MAX_RAW_EXCERPT_CHARS else text[:MAX_RAW_EXCERPT_CHARS] + "…"


def _plain(text: str, limit: int) -> str:
    """Header and notification text: escaped like every other text, one line, within Slack's limit."""
    value = escape(" ".join(text.split()))
    return value if len(value) <= limit else value[: limit - 1] + "…"
